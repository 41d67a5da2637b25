"""The database itself rejects invalid rows (constraints, not only form validation)."""
import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations.models import Conversation, Feedback, Message, Visitor
from handoff.models import AgentProfile, CannedResponse, Escalation
from knowledge.models import Category, Entry, SimilarQuestion
from nlp.models import Intent, IntentExample, ModelVersion

pytestmark = pytest.mark.django_db


def rejected(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


@pytest.fixture
def conversation():
    return Conversation.objects.create(visitor=Visitor.objects.create())


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("staff1", is_staff=True)


def test_message_seq_and_client_id_are_unique_per_conversation(conversation):
    Message.objects.create(conversation=conversation, seq=1, sender="visitor", text="你好", client_msg_id="c1")
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=1, sender="bot", text="x"))
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=2, sender="visitor", text="x", client_msg_id="c1"))
    # The same client id in another conversation, and many messages without one, are fine.
    other = Conversation.objects.create(visitor=conversation.visitor)
    Message.objects.create(conversation=other, seq=1, sender="visitor", text="x", client_msg_id="c1")
    Message.objects.create(conversation=conversation, seq=2, sender="bot", text="a")
    Message.objects.create(conversation=conversation, seq=3, sender="bot", text="b")


def test_message_ranges_and_agent_messages(conversation):
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=0, sender="bot", text="x"))
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=1, sender="bot", text="x", confidence=1.5))
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=1, sender="robot", text="x"))
    assert rejected(lambda: Message.objects.create(conversation=conversation, seq=1, sender="agent", text="x"))


def test_conversation_state_rules(conversation, staff):
    def set_fields(**fields):
        Conversation.objects.filter(pk=conversation.pk).update(**fields)

    assert rejected(lambda: set_fields(csat_rating=6))
    assert rejected(lambda: set_fields(csat_rating=0))
    assert rejected(lambda: set_fields(status="closed"))  # closed needs closed_at
    assert rejected(lambda: set_fields(status="with_agent"))  # with_agent needs an agent
    assert rejected(lambda: set_fields(status="nonsense"))
    set_fields(status="with_agent", assigned_agent=staff)
    set_fields(status="closed", closed_at=timezone.now(), csat_rating=5)


def test_visitor_external_id_is_unique_when_present():
    Visitor.objects.create(external_id="u-1")
    assert rejected(lambda: Visitor.objects.create(external_id="u-1"))
    Visitor.objects.create()
    Visitor.objects.create()


def test_feedback_needs_a_verdict_in_range(conversation):
    message = Message.objects.create(conversation=conversation, seq=1, sender="bot", text="答案")
    assert rejected(lambda: Feedback.objects.create(message=message))
    assert rejected(lambda: Feedback.objects.create(message=message, rating=9))
    Feedback.objects.create(message=message, helpful=True)
    assert rejected(lambda: Feedback.objects.create(message=message, helpful=False))  # one per message


def test_knowledge_uniqueness_and_required_text():
    category = Category.objects.create(name="订单", slug="order")
    assert rejected(lambda: Category.objects.create(name="订单", slug="order-2"))
    Category.objects.create(name="订单", slug="order-sub", parent=category)  # same name under another parent
    entry = Entry.objects.create(external_id="E1", question="怎么退款", answer="在订单页申请", category=category)
    assert rejected(lambda: Entry.objects.create(external_id="E1", question="q", answer="a"))
    assert rejected(lambda: Entry.objects.create(external_id="E2", question="", answer="a"))
    assert rejected(lambda: Entry.objects.create(external_id="E3", question="q", answer="a", status="deleted"))
    SimilarQuestion.objects.create(entry=entry, text="退钱怎么弄")
    assert rejected(lambda: SimilarQuestion.objects.create(entry=entry, text="退钱怎么弄"))


def test_intents_and_model_versions():
    intent = Intent.objects.create(name="refund", display_name="退款")
    assert rejected(lambda: Intent.objects.create(name="Bad Name", display_name="x"))
    IntentExample.objects.create(intent=intent, text="我要退款")
    assert rejected(lambda: IntentExample.objects.create(intent=intent, text="我要退款"))
    assert rejected(lambda: ModelVersion.objects.create(backend="linear", status="training", is_active=True))
    ModelVersion.objects.create(backend="linear", status="ready", is_active=True)
    assert rejected(lambda: ModelVersion.objects.create(backend="linear", status="ready", is_active=True))
    assert rejected(lambda: ModelVersion.objects.create(backend="svm", status="ready"))


def test_handoff_rules(conversation, staff):
    AgentProfile.objects.create(user=staff, display_name="小云", capacity=3)
    other = get_user_model().objects.create_user("staff2")
    assert rejected(lambda: AgentProfile.objects.create(user=other, display_name="x", capacity=0))
    Escalation.objects.create(conversation=conversation, reason="human_request")
    # Never two open escalations for one conversation.
    assert rejected(lambda: Escalation.objects.create(conversation=conversation, reason="complaint"))
    assert rejected(lambda: Escalation.objects.create(conversation=Conversation.objects.create(visitor=conversation.visitor), reason="human_request", status="active"))
    CannedResponse.objects.create(shortcut="hello", title="问候", text="您好")
    assert rejected(lambda: CannedResponse.objects.create(shortcut="hello", title="x", text="y"))
