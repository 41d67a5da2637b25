"""What an agent does to a chat: accept, reply, note, transfer, return to bot, close, mark read.

The console socket, the console page and the agent REST API all call these functions, so
permissions and side effects live here once. Messages and conversation statuses are written
only through ``conversations.services.messages`` (sequence numbers, broadcasts).

Permission rule: an agent acts on chats they own (accept: a chat that is queued or assigned
to them); a manager may also transfer, return or close anyone's chat. Every refusal is an
``ApplicationError`` and changes nothing.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.enums import CloseReason, ConversationStatus, MessageKind, Sender
from conversations.models import Conversation, Message
from conversations.realtime import broadcast_on_commit, conversation_group, typing_event
from conversations.services.messages import conversation_status_set, message_append, system_message_append
from csbot.errors import ApplicationError

from ..enums import EscalationReason, EscalationStatus, Presence
from ..models import OPEN_ESCALATION_STATUSES, AgentProfile, Escalation
from ..realtime import chats_changed_on_commit, note_on_commit, queue_changed_on_commit
from ..selectors import BUSY_STATUSES, conversation_for_staff, display_name, staff_role_required
from .presence import agent_profile_ensure
from .routing import queue_dispatch, queue_positions_broadcast

MAX_TEXT = 2000


def _not_found() -> ApplicationError:
    return ApplicationError("conversation_not_found", _("会话不存在"), status=404)


def _open_escalation_locked(conversation_id: uuid.UUID | str) -> Escalation:
    escalation = (
        Escalation.objects.select_for_update().select_related("conversation").filter(conversation_id=conversation_id, status__in=OPEN_ESCALATION_STATUSES).first()
    )
    if escalation is None:
        raise ApplicationError("not_in_handoff", _("该会话当前不在人工服务中"), status=409)
    return escalation


def _owned_active(user: AbstractBaseUser, conversation_id: uuid.UUID | str, *, manager_may: bool) -> Escalation:
    """The active escalation of a chat ``user`` may act on (their own; any, for managers if allowed)."""
    role = staff_role_required(user)
    conversation_for_staff(user=user, conversation_id=conversation_id)  # 404 for chats the user may not see
    escalation = _open_escalation_locked(conversation_id)
    if escalation.agent_id != user.pk and not (manager_may and role == "manager"):
        raise ApplicationError("not_your_chat", _("这不是您接待的会话"), status=403)
    return escalation


def _clean_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError("empty_message", _("消息不能为空"), status=400)
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise ApplicationError("message_too_long", _("消息不能超过 %(max)s 个字") % {"max": MAX_TEXT}, status=400)
    return text


def escalation_accept(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Escalation:
    """Take a waiting chat: the visitor is told who joined and the bot stays quiet from now on.

    Raises ``not_in_handoff`` (409) when nothing waits, ``already_taken`` (409) when another
    agent has it, ``over_capacity`` (409) when the agent's chats are full.
    """
    staff_role_required(user)
    with transaction.atomic():
        conversation_for_staff(user=user, conversation_id=conversation_id)
        escalation = _open_escalation_locked(conversation_id)
        if escalation.status == EscalationStatus.ACTIVE:
            if escalation.agent_id == user.pk:
                return escalation  # a double click accepts once
            raise ApplicationError("already_taken", _("该会话已被其他坐席接入"), status=409)
        if escalation.status == EscalationStatus.ASSIGNED and escalation.agent_id != user.pk and staff_role_required(user) != "manager":
            raise ApplicationError("already_taken", _("该会话已分配给其他坐席"), status=409)
        profile = AgentProfile.objects.select_for_update().get(pk=agent_profile_ensure(user).pk)
        load = Escalation.objects.filter(agent=user, status__in=BUSY_STATUSES).exclude(pk=escalation.pk).count()
        if load >= profile.capacity:
            raise ApplicationError("over_capacity", _("您的接待数已达上限（%(n)s）") % {"n": profile.capacity}, status=409)
        previous_agent = escalation.agent_id
        now = timezone.now()
        conversation = Conversation.objects.select_for_update().get(pk=escalation.conversation_id)
        escalation.status = EscalationStatus.ACTIVE
        escalation.agent_id = user.pk
        escalation.assigned_at = escalation.assigned_at if previous_agent == user.pk and escalation.assigned_at else now
        escalation.accepted_at = now
        escalation.agent_read_seq = conversation.last_seq
        escalation.save(update_fields=["status", "agent", "assigned_at", "accepted_at", "agent_read_seq"])
        name = profile.display_name
        conversation_status_set(conversation=conversation, status=ConversationStatus.WITH_AGENT, assigned_agent=user, agent_name=name)
        system_message_append(conversation=conversation, text=_("客服 %(name)s 已接入，很高兴为您服务。") % {"name": name}, payload={"agent_name": name, "event": "agent_joined"})
        if previous_agent and previous_agent != user.pk:
            chats_changed_on_commit(previous_agent)
        chats_changed_on_commit(user.pk, conversation_id=conversation.pk)
        queue_changed_on_commit()
        queue_positions_broadcast()
    return escalation


def agent_message_send(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str, text: object, client_msg_id: str | None = None) -> Message:
    """Send the visitor a message as the agent who serves the chat (idempotent on ``client_msg_id``)."""
    text = _clean_text(text)
    if client_msg_id is not None and (not isinstance(client_msg_id, str) or len(client_msg_id) > 64):
        raise ApplicationError("invalid_client_msg_id", _("client_msg_id 格式不正确"), status=400)
    with transaction.atomic():
        escalation = _owned_active(user, conversation_id, manager_may=False)
        if escalation.status != EscalationStatus.ACTIVE:
            raise ApplicationError("not_accepted", _("请先接入该会话"), status=409)
        conversation = escalation.conversation
        if client_msg_id:
            existing = Message.objects.filter(conversation=conversation, client_msg_id=client_msg_id).first()
            if existing is not None:
                return existing
        message = message_append(
            conversation=conversation,
            sender=Sender.AGENT,
            kind=MessageKind.TEXT,
            text=text,
            agent=user,
            client_msg_id=client_msg_id or None,
            payload={"agent_name": display_name(user)},
        )
        Escalation.objects.filter(pk=escalation.pk).update(agent_read_seq=message.seq)
    return message


def agent_note_add(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str, text: object) -> Message:
    """An internal note on the transcript: staff see it, the visitor never does (no visitor broadcast)."""
    text = _clean_text(text)
    with transaction.atomic():
        conversation = conversation_for_staff(user=user, conversation_id=conversation_id)
        message = message_append(
            conversation=conversation,
            sender=Sender.AGENT,
            kind=MessageKind.NOTE,
            text=text,
            agent=user,
            broadcast=False,
            payload={"agent_name": display_name(user)},
        )
        note_on_commit(conversation.pk, message.pk)
    return message


def agent_typing(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str, active: bool = True) -> None:
    """Show the visitor that the agent is typing (nothing stored)."""
    escalation = Escalation.objects.filter(conversation_id=conversation_id, status=EscalationStatus.ACTIVE, agent=user).first()
    if escalation is None:
        raise ApplicationError("not_your_chat", _("这不是您接待的会话"), status=403)
    broadcast_on_commit(conversation_group(conversation_id), dict(typing_event(Sender.AGENT, active=active)))


def agent_read_mark(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str, seq: int) -> None:
    """The agent has seen messages up to ``seq`` (clears the unread badge)."""
    if not isinstance(seq, int) or seq < 0:
        raise ApplicationError("invalid_seq", _("序号不正确"), status=400)
    Escalation.objects.filter(conversation_id=conversation_id, agent=user, status=EscalationStatus.ACTIVE, agent_read_seq__lt=seq).update(agent_read_seq=seq)


@dataclass(frozen=True)
class TransferResult:
    ended: Escalation
    new: Escalation


def escalation_transfer(
    *, user: AbstractBaseUser, conversation_id: uuid.UUID | str, to_user_id: int | None = None, note: str = ""
) -> TransferResult:
    """Hand an active chat to another agent (or back to the queue when ``to_user_id`` is None).

    The current escalation ends and a new one with reason ``transfer`` is assigned to the
    target, who must accept it like any assignment (it times out and re-routes the same way).
    Raises ``invalid_target`` (400) for a non-agent, an inactive or offline agent or oneself,
    ``over_capacity`` (409) when the target is full.
    """
    note = (note or "").strip()[:200]
    with transaction.atomic():
        escalation = _owned_active(user, conversation_id, manager_may=True)
        if escalation.status != EscalationStatus.ACTIVE:
            raise ApplicationError("not_accepted", _("只能转接接待中的会话"), status=409)
        target: AgentProfile | None = None
        if to_user_id is not None:
            target = AgentProfile.objects.select_for_update().select_related("user").filter(user_id=to_user_id, user__is_active=True, user__is_staff=True).first()
            if target is None or target.user_id == escalation.agent_id or target.presence == Presence.OFFLINE:
                raise ApplicationError("invalid_target", _("无法转接给该坐席（不存在、已离线或就是当前坐席）"), status=400)
            load = Escalation.objects.filter(agent_id=target.user_id, status__in=BUSY_STATUSES).count()
            if load >= target.capacity:
                raise ApplicationError("over_capacity", _("%(name)s 的接待数已满") % {"name": target.display_name}, status=409)
        now = timezone.now()
        from_agent = escalation.agent_id
        escalation.status = EscalationStatus.ENDED
        escalation.ended_at = now
        escalation.save(update_fields=["status", "ended_at"])
        conversation = Conversation.objects.select_for_update().get(pk=escalation.conversation_id)
        detail = _("由 %(from)s 转接") % {"from": display_name(get_user_model().objects.get(pk=from_agent))}
        if note:
            detail = f"{detail}：{note}"
        new = Escalation.objects.create(
            conversation=conversation,
            reason=EscalationReason.TRANSFER,
            detail=detail[:300],
            category_id=escalation.category_id,
            status=EscalationStatus.ASSIGNED if target else EscalationStatus.QUEUED,
            agent_id=target.user_id if target else None,
            assigned_at=now if target else None,
        )
        new.skipped_agents.add(from_agent)
        conversation_status_set(conversation=conversation, status=ConversationStatus.QUEUED, assigned_agent=None)
        system_message_append(conversation=conversation, text=_("正在为您转接其他客服，请稍候…"), payload={"event": "transfer"})
        chats_changed_on_commit(from_agent)
        if target:
            chats_changed_on_commit(target.user_id, assigned_escalation_id=new.pk, conversation_id=conversation.pk)
        queue_changed_on_commit(new_escalation_id=new.pk)
        if target is None:
            queue_dispatch()
        else:
            queue_positions_broadcast()
    return TransferResult(ended=escalation, new=new)


def _end(user: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Escalation:
    escalation = _owned_active(user, conversation_id, manager_may=True)
    escalation.status = EscalationStatus.ENDED
    escalation.ended_at = timezone.now()
    escalation.save(update_fields=["status", "ended_at"])
    if escalation.agent_id:
        chats_changed_on_commit(escalation.agent_id)
    queue_changed_on_commit()
    return escalation


def escalation_return_to_bot(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Escalation:
    """End the human part of a chat; the bot answers the visitor's next message again."""
    with transaction.atomic():
        escalation = _end(user, conversation_id)
        conversation = Conversation.objects.select_for_update().get(pk=escalation.conversation_id)
        conversation_status_set(conversation=conversation, status=ConversationStatus.BOT, assigned_agent=None)
        system_message_append(conversation=conversation, text=_("人工客服已离开，接下来由智能客服继续为您服务。"), payload={"event": "returned_to_bot"})
        queue_dispatch()  # a slot was freed
    return escalation


def escalation_close(*, user: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Escalation:
    """Close the chat; the visitor is asked to rate the service (CSAT 1–5 + comment)."""
    with transaction.atomic():
        escalation = _end(user, conversation_id)
        conversation = Conversation.objects.select_for_update().get(pk=escalation.conversation_id)
        conversation_status_set(conversation=conversation, status=ConversationStatus.CLOSED, close_reason=CloseReason.AGENT)
        if escalation.accepted_at:  # only a chat a person actually served can be rated
            system_message_append(
                conversation=conversation,
                text=_("本次服务已结束，感谢您的耐心。请为本次服务打分～"),
                payload={"event": "closed", "actions": [{"type": "csat", "label": str(_("评价本次服务"))}]},
            )
        else:
            system_message_append(conversation=conversation, text=_("本次会话已结束。"), payload={"event": "closed"})
        queue_dispatch()
    return escalation
