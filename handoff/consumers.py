"""The agent console's socket, ``/ws/agent/`` (staff session auth; see ``handoff.routing``).

Client frames (all but ``presence``/``tick``/``refresh`` carry ``conversation_id``):
``presence {presence}``, ``watch``, ``accept``, ``send {text, client_msg_id}``, ``note {text}``,
``typing {active}``, ``read {seq}``, ``transfer {to_user_id?, note?}``, ``return_to_bot``,
``close``, ``suggest``, ``tick`` (every ~20 s: heartbeat + queue housekeeping), ``refresh``.

Server frames: ``hello`` (who am I, queue, chats, canned responses, agents), ``queue``,
``chats`` (``alert`` when something new arrived for this agent), ``all_chats`` (managers:
every live chat), ``transcript``, ``message``
(staff view: intent, confidence, notes), ``typing``, ``suggestions``, ``ok {action}``,
``error {code, detail}``.

Every action goes through ``handoff.services``, which re-check permissions each time, so a
socket can never do more than the REST API. Group events are nudges; the consumer re-reads
what this user may see.
"""
from __future__ import annotations

import uuid
from typing import Any

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.utils.translation import gettext as _

from conversations.enums import Sender
from conversations.models import Message
from csbot.errors import ApplicationError
from csbot.ws import SocketConsumer, error_frame, frame_parse

from . import selectors
from .apis import _escalation_data, _jsonable
from .enums import LeftMessageStatus
from .models import CannedResponse, LeftMessage
from .realtime import AGENT_QUEUE_GROUP, agent_group, conversation_group, staff_group
from .services import agent_chat
from .services.assist import kb_suggestions
from .services.presence import agent_profile_ensure, agent_seen, presence_set
from .services.routing import queue_tick

CLOSE_FORBIDDEN = 4403


# ------------------------------------------------------------------ sync helpers (worker threads)


def _hello(user: Any) -> dict[str, Any]:
    role = selectors.staff_role_required(user)
    profile = agent_profile_ensure(user)
    return {
        "type": "hello",
        "user": {"id": user.pk, "display_name": profile.display_name, "role": role, "presence": profile.presence, "capacity": profile.capacity},
        "queue": [_jsonable(item) for item in selectors.queue_items(user=user)],
        "chats": [_jsonable(item) for item in selectors.agent_chats(user=user)],
        "canned": list(CannedResponse.objects.values("shortcut", "title", "text")),
        "agents": selectors.transfer_targets(exclude_user_id=user.pk),
        "all_chats": _all_chats(user, role),
        "left_new": _left_new(),
    }


def _left_new() -> int:
    """How many left messages nobody has followed up yet (a link in the console's top bar)."""
    return LeftMessage.objects.filter(status=LeftMessageStatus.NEW).count()


def _all_chats(user: Any, role: str | None) -> list[dict[str, Any]] | None:
    """Every live chat, for managers (who may watch any); None for agents."""
    return [_jsonable(item) for item in selectors.agent_chats(user=user, everyone=True)] if role == "manager" else None


def _role(user: Any) -> str | None:
    return selectors.staff_role(user)


def _queue(user: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None, int]:
    return [_jsonable(item) for item in selectors.queue_items(user=user)], _all_chats(user, selectors.staff_role(user)), _left_new()


def _chats(user: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [_jsonable(item) for item in selectors.agent_chats(user=user)], selectors.transfer_targets(exclude_user_id=user.pk)


def _transcript(user: Any, conversation_id: str) -> dict[str, Any]:
    conversation = selectors.conversation_for_staff(user=user, conversation_id=conversation_id)
    escalation = selectors.open_escalation(conversation.pk)
    return {
        "type": "transcript",
        "conversation_id": str(conversation.pk),
        "status": conversation.status,
        "visitor": str(conversation.visitor),
        "escalation": _escalation_data(escalation) if escalation else None,
        "mine": bool(escalation and escalation.agent_id == user.pk),
        "messages": [selectors.staff_message_data(m) for m in selectors.transcript(conversation)],
    }


def _messages(user: Any, message_ids: list[int], allowed: set[str]) -> list[dict[str, Any]]:
    rows = Message.objects.filter(pk__in=message_ids).select_related("agent", "matched_entry").order_by("seq")
    return [selectors.staff_message_data(m) for m in rows if str(m.conversation_id) in allowed]


def _suggest(user: Any, conversation_id: str) -> list[dict[str, Any]]:
    conversation = selectors.conversation_for_staff(user=user, conversation_id=conversation_id)
    return list(kb_suggestions(conversation))


def _tick(user: Any) -> None:
    agent_seen(user)
    queue_tick()


_suggest_async = DatabaseSyncToAsync(_suggest, thread_sensitive=False)  # NLP: keep it off the shared DB thread


class AgentConsumer(SocketConsumer):
    user: Any = None
    role: str | None = None

    async def connect(self) -> None:
        self.subscribed: set[str] = set()  # conversation ids whose groups this socket is in
        self.own: set[str] = set()  # the agent's active chats
        self.sent_ids: dict[int, None] = {}  # message ids already sent (insertion-ordered, bounded)
        user = self.scope.get("user")
        self.role = await database_sync_to_async(_role)(user) if user is not None else None
        if self.role is None:
            # A visitor's session token, an anonymous browser or a non-agent login: never.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        await self.channel_layer.group_add(AGENT_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_add(agent_group(user.pk), self.channel_name)
        await self.accept()
        hello = await database_sync_to_async(_hello)(user)
        await self._sync_own([chat["conversation_id"] for chat in hello["chats"]])
        await self.send_json(hello)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        await self.channel_layer.group_discard(AGENT_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_discard(agent_group(self.user.pk), self.channel_name)
        for conversation_id in list(self.subscribed):
            await self._unsubscribe(conversation_id)

    # -- groups ---------------------------------------------------------------------------

    async def _subscribe(self, conversation_id: str) -> None:
        if conversation_id not in self.subscribed:
            self.subscribed.add(conversation_id)
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
            await self.channel_layer.group_add(staff_group(conversation_id), self.channel_name)

    async def _unsubscribe(self, conversation_id: str) -> None:
        if conversation_id in self.subscribed:
            self.subscribed.discard(conversation_id)
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)
            await self.channel_layer.group_discard(staff_group(conversation_id), self.channel_name)

    async def _sync_own(self, conversation_ids: list[str]) -> None:
        """Listen to every chat the agent serves (for unread badges), plus the one being watched."""
        new_own = set(conversation_ids)
        for conversation_id in self.own - new_own:
            if conversation_id != getattr(self, "watched", None):
                await self._unsubscribe(conversation_id)
        for conversation_id in new_own:
            await self._subscribe(conversation_id)
        self.own = new_own

    # -- client frames --------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.user is None:
            return
        try:
            content = frame_parse(text_data)
        except ApplicationError as exc:
            await self.send_json(error_frame(exc))
            return
        kind = content["type"]
        handler = getattr(self, f"frame_{kind}", None) if kind.isidentifier() else None
        if handler is None:
            await self.send_json(error_frame(ApplicationError("unknown_frame", _("不支持的帧类型：%(type)s") % {"type": kind[:32]})))
            return
        conversation_id = content.get("conversation_id")
        if handler.__name__ not in _NO_CONVERSATION:
            try:
                conversation_id = str(uuid.UUID(str(conversation_id)))
            except ValueError:
                await self.send_json(error_frame(ApplicationError("conversation_not_found", _("会话不存在"), status=404), action=kind))
                return
        try:
            await handler(content, conversation_id)
        except ApplicationError as exc:
            await self.send_json(error_frame(exc, action=kind, conversation_id=conversation_id))

    async def _act(self, kind: str, function: Any, conversation_id: str, **kwargs: Any) -> Any:
        result = await database_sync_to_async(function)(user=self.user, conversation_id=conversation_id, **kwargs)
        await self.send_json({"type": "ok", "action": kind, "conversation_id": conversation_id})
        return result

    async def frame_presence(self, content: dict[str, Any], conversation_id: Any) -> None:
        profile = await database_sync_to_async(presence_set)(user=self.user, presence=content.get("presence"))
        await self.send_json({"type": "presence", "presence": profile.presence})

    async def frame_tick(self, content: dict[str, Any], conversation_id: Any) -> None:
        await database_sync_to_async(_tick)(self.user)

    async def frame_refresh(self, content: dict[str, Any], conversation_id: Any) -> None:
        await self.agent_queue_changed({})
        await self.agent_chats_changed({})

    async def frame_watch(self, content: dict[str, Any], conversation_id: str) -> None:
        transcript = await database_sync_to_async(_transcript)(self.user, conversation_id)
        previous = getattr(self, "watched", None)
        self.watched = conversation_id
        if previous and previous != conversation_id and previous not in self.own:
            await self._unsubscribe(previous)
        await self._subscribe(conversation_id)
        await self.send_json(transcript)

    async def frame_accept(self, content: dict[str, Any], conversation_id: str) -> None:
        await self._act("accept", agent_chat.escalation_accept, conversation_id)
        await self._subscribe(conversation_id)

    async def frame_send(self, content: dict[str, Any], conversation_id: str) -> None:
        await self._act("send", agent_chat.agent_message_send, conversation_id, text=content.get("text"), client_msg_id=content.get("client_msg_id"))

    async def frame_note(self, content: dict[str, Any], conversation_id: str) -> None:
        await self._act("note", agent_chat.agent_note_add, conversation_id, text=content.get("text"))

    async def frame_typing(self, content: dict[str, Any], conversation_id: str) -> None:
        await database_sync_to_async(agent_chat.agent_typing)(user=self.user, conversation_id=conversation_id, active=content.get("active", True) is not False)

    async def frame_read(self, content: dict[str, Any], conversation_id: str) -> None:
        await database_sync_to_async(agent_chat.agent_read_mark)(user=self.user, conversation_id=conversation_id, seq=content.get("seq"))

    async def frame_transfer(self, content: dict[str, Any], conversation_id: str) -> None:
        to_user_id = content.get("to_user_id")
        if to_user_id is not None and (isinstance(to_user_id, bool) or not isinstance(to_user_id, int)):
            raise ApplicationError("invalid_target", _("to_user_id 须为整数"), status=400)
        note = content.get("note") if isinstance(content.get("note"), str) else ""
        await self._act("transfer", agent_chat.escalation_transfer, conversation_id, to_user_id=to_user_id, note=note)

    async def frame_return_to_bot(self, content: dict[str, Any], conversation_id: str) -> None:
        await self._act("return_to_bot", agent_chat.escalation_return_to_bot, conversation_id)

    async def frame_close(self, content: dict[str, Any], conversation_id: str) -> None:
        await self._act("close", agent_chat.escalation_close, conversation_id)

    async def frame_suggest(self, content: dict[str, Any], conversation_id: str) -> None:
        results = await _suggest_async(self.user, conversation_id)
        await self.send_json({"type": "suggestions", "conversation_id": conversation_id, "results": results})

    # -- group events ---------------------------------------------------------------------

    async def agent_queue_changed(self, event: dict[str, Any]) -> None:
        queue, all_chats, left_new = await database_sync_to_async(_queue)(self.user)
        new_id = event.get("new_escalation_id")
        alert = bool(new_id) and any(item["escalation_id"] == new_id for item in queue)
        await self.send_json({"type": "queue", "queue": queue, "alert": alert, "left_new": left_new})
        if all_chats is not None:
            await self.send_json({"type": "all_chats", "chats": all_chats})

    async def queue_changed(self, event: dict[str, Any]) -> None:
        """``queue.changed`` from ``escalation_create``: a visitor just asked for a person."""
        await self.agent_queue_changed({"new_escalation_id": event.get("escalation_id")})

    async def agent_chats_changed(self, event: dict[str, Any]) -> None:
        chats, agents = await database_sync_to_async(_chats)(self.user)
        await self._sync_own([chat["conversation_id"] for chat in chats])
        queue, _all, left_new = await database_sync_to_async(_queue)(self.user)
        alert = bool(event.get("assigned_escalation_id"))
        await self.send_json({"type": "chats", "chats": chats, "agents": agents, "alert": alert})
        await self.send_json({"type": "queue", "queue": queue, "alert": alert, "left_new": left_new})

    async def chat_messages(self, event: dict[str, Any]) -> None:
        # A message may arrive twice (conversation group and this agent's group): send it once.
        ids = [message["id"] for message in event.get("messages", []) if message["id"] not in self.sent_ids]
        if not ids:
            return
        for message in await database_sync_to_async(_messages)(self.user, ids, set(self.subscribed)):
            if message["id"] in self.sent_ids:
                continue
            self.sent_ids[message["id"]] = None
            if len(self.sent_ids) > 1000:
                self.sent_ids.pop(next(iter(self.sent_ids)))
            await self.send_json({"type": "message", "conversation_id": message["conversation_id"], "message": message})

    async def agent_note(self, event: dict[str, Any]) -> None:
        await self.chat_messages({"messages": [{"id": event["message_id"]}]})

    async def chat_status(self, event: dict[str, Any]) -> None:
        await self.agent_chats_changed({})
        if event.get("conversation_id"):
            await self.send_json({"type": "conversation_status", "conversation_id": event["conversation_id"], "status": event.get("status")})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event.get("sender") == Sender.VISITOR:
            conversation_id = event.get("conversation_id") or getattr(self, "watched", None)
            await self.send_json({"type": "typing", "conversation_id": conversation_id, "active": event.get("active", True)})


_NO_CONVERSATION = {"frame_presence", "frame_tick", "frame_refresh"}
