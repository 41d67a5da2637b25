"""Default texts of the reply templates (seeded into ``ReplyTemplate`` by a data migration).

Managers edit the stored rows in admin; these defaults only fill a missing row, so the bot
never answers with an empty string.
"""
from __future__ import annotations

from typing import Final

DEFAULT_TEMPLATES: Final[dict[str, str]] = {
    "greeting": "您好！我是智能客服小云，很高兴为您服务～请问有什么可以帮您？您可以直接描述问题，例如“怎么申请退货”“多久发货”。",
    "thanks": "不客气！能帮到您我很开心～还有其他问题随时问我哦。",
    "goodbye": "感谢您的咨询，祝您生活愉快，再见！如有需要随时回来找我～",
    "suggest_intro": "您是不是想问：",
    "fallback": "抱歉，我暂时没能理解您的问题。您可以换个说法再问一次，或者点击“转人工”联系人工客服。",
    "out_of_scope": "抱歉，这个问题超出了我的服务范围。我可以解答订单、物流、退换货、退款、支付、发票、会员等购物问题，也可以为您转接人工客服。",
    "handoff_queued": "正在为您转接人工客服，请稍候…",
    "idle_closed": "由于长时间没有新消息，本次会话已自动结束。如还有问题，直接发送消息即可开始新的咨询。",
}

# Intents answered from a template instead of the knowledge base (DESIGN.md "One chat turn", step 4).
SMALLTALK_INTENTS: Final[frozenset[str]] = frozenset({"greeting", "thanks", "goodbye"})
