"""What happens around a new escalation besides queueing it (``escalations.escalation_create``).

Out of business hours a visitor is not put in a queue nobody serves: the request is
recorded as ``missed`` (reason and time stay on the dashboard) and the visitor is told so
and offered the leave-a-message form. In business hours with nobody online the chat is
queued (someone may come online) and the queued notice offers the form as well.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from ..enums import Availability, EscalationStatus
from ..models import Escalation
from ..selectors import unavailable_text

if TYPE_CHECKING:  # pragma: no cover
    from conversations.models import Conversation, Message

LEAVE_MESSAGE_ACTION = {"type": "leave_message", "label": "留言"}


def category_for_slug(slug: str | None) -> int | None:
    """The KB category (the skill routing needs) named by an intent/entry category slug."""
    if not slug:
        return None
    from knowledge.models import Category

    return Category.objects.filter(slug=slug).values_list("pk", flat=True).first()


def escalation_missed(
    *, conversation: "Conversation", reason: str, availability: Availability, detail: str = "", trigger_message: "Message | None" = None, category_id: int | None = None
) -> Escalation:
    """Record a request nobody can serve now and offer the visitor the leave-a-message form.

    The conversation stays with the bot. Writes an ``Escalation`` (status ``missed``, ended at
    once) and a system message whose ``leave_message`` action opens the form in the widget.
    """
    from conversations.services.messages import system_message_append

    with transaction.atomic():
        escalation = Escalation.objects.create(
            conversation=conversation,
            reason=reason,
            detail=(detail or str(availability.label))[:300],
            status=EscalationStatus.MISSED,
            category_id=category_id,
        )
        escalation.ended_at = escalation.requested_at  # nobody was there: it ends as it starts
        escalation.save(update_fields=["ended_at"])
        system_message_append(
            conversation=conversation,
            text=unavailable_text(availability),
            reply_to=trigger_message,
            payload={"event": "handoff_unavailable", "availability": availability.value, "actions": [leave_message_action(availability)]},
        )
    return escalation



def leave_message_action(availability: Availability) -> dict[str, str]:
    """The widget action that opens the leave-a-message form, with the notice to show above it."""
    return {**LEAVE_MESSAGE_ACTION, "note": unavailable_text(availability)}


def queued_notice_extras(availability: Availability) -> dict:
    """Extra payload for the "正在为您转接" notice when nobody is online: offer the form too.

    The chat is still queued (someone may come online); the visitor may leave a message instead.
    """
    if availability != Availability.NO_AGENTS:
        return {}
    return {"availability": availability.value, "actions": [leave_message_action(availability)]}
