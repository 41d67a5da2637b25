"""The turn with the real ``nlp.analyze`` and ``knowledge.selectors.faq_match`` (no stand-ins).

No intent model is trained here (the classifier answers "no intent"), so this checks the
wiring — normalisation, masking, search, matcher banding — not the models' accuracy, which
the nlp and knowledge benchmarks measure.
"""
from __future__ import annotations

import pytest

from conversations.enums import MessageKind
from conversations.services import turn_handle

pytestmark = pytest.mark.django_db


def test_the_real_pipeline_answers_a_knowledge_base_question(api_session, kb_entries):
    conversation, _ = api_session
    result = turn_handle(conversation=conversation, text="怎么申请退货？", source="api")
    assert result.reply.kind == MessageKind.ANSWER
    assert result.reply.matched_entry_id == kb_entries["T-RET-1"].pk
    assert result.reply.candidates and result.reply.candidates[0]["external_id"] == "T-RET-1"
    analysis = result.visitor_message.payload["analysis"]
    assert analysis["sentiment"]["label"] in ("negative", "neutral", "positive") and analysis["out_of_scope"] is False


def test_the_real_pipeline_masks_personal_data_and_falls_back_on_nonsense(api_session, kb_entries):
    conversation, _ = api_session
    result = turn_handle(conversation=conversation, text="我的手机号是13912345678，zzzz qqqq", source="api")
    assert result.visitor_message.text == "我的手机号是139****5678，zzzz qqqq"
    assert result.reply.kind in (MessageKind.FALLBACK, MessageKind.SUGGEST)
    assert "13912345678" not in str(result.visitor_message.payload)
