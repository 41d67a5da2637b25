"""The agent REST API (``/api/v1/agent/``) for integrations: the console's services over HTTP.

Session (the admin login, CSRF-protected) or token authentication; only staff with an agent
or manager role get in. Views parse, call one ``handoff.services`` function and serialise;
errors are ``{code, detail}`` through ``csbot.api.exception_handler``. Agents see the queue
and their own chats; managers see everything (``conversation_for_staff``).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import authentication, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csbot.errors import ApplicationError

from . import selectors
from .models import CannedResponse
from .services import agent_chat
from .services.assist import kb_suggestions
from .services.presence import agent_profile_ensure, presence_set


def _authentication_classes() -> list[type[authentication.BaseAuthentication]]:
    classes: list[type[authentication.BaseAuthentication]] = [authentication.SessionAuthentication]
    if "rest_framework.authtoken" in settings.INSTALLED_APPS:  # token auth once the lead enables the app
        classes.append(authentication.TokenAuthentication)
    return classes


class IsAgentOrManager(permissions.BasePermission):
    """Staff in the 客服坐席 / 客服主管 roles (or superusers); everyone else gets 403."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not getattr(request.user, "is_authenticated", False):
            return False
        selectors.staff_role_required(request.user)  # raises not_an_agent (403)
        return True


class AgentApi(APIView):
    authentication_classes = _authentication_classes()
    permission_classes = [IsAgentOrManager]

    def body(self, request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise ApplicationError("malformed_body", _("请求体必须是 JSON 对象"))
        return request.data


def _jsonable(row: Any) -> dict[str, Any]:
    data = asdict(row)
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            data[key] = value.isoformat()
        elif key.endswith("conversation_id"):
            data[key] = str(value)
    return data


def _escalation_data(escalation: Any) -> dict[str, Any]:
    return {
        "id": escalation.pk,
        "conversation_id": str(escalation.conversation_id),
        "status": escalation.status,
        "reason": escalation.reason,
        "agent_id": escalation.agent_id,
        "requested_at": escalation.requested_at.isoformat(),
        "assigned_at": escalation.assigned_at.isoformat() if escalation.assigned_at else None,
        "accepted_at": escalation.accepted_at.isoformat() if escalation.accepted_at else None,
        "ended_at": escalation.ended_at.isoformat() if escalation.ended_at else None,
    }


_OK = inline_serializer("AgentResult", {"escalation": serializers.DictField()})


class QueueApi(AgentApi):
    @extend_schema(operation_id="agent_queue", responses=inline_serializer("AgentQueue", {"results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        """Chats waiting for a person (agents: queued + assigned to them; managers: all), oldest first."""
        return Response({"results": [_jsonable(item) for item in selectors.queue_items(user=request.user)]})


class ChatsApi(AgentApi):
    @extend_schema(operation_id="agent_chats", responses=inline_serializer("AgentChats", {"results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        """The caller's active chats with unread counts; managers may pass ``?all=1`` for every live chat."""
        everyone = request.query_params.get("all") in ("1", "true")
        return Response({"results": [_jsonable(item) for item in selectors.agent_chats(user=request.user, everyone=everyone)]})


class TranscriptApi(AgentApi):
    @extend_schema(operation_id="agent_transcript", responses=inline_serializer("AgentTranscript", {"messages": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request, conversation_id: str) -> Response:
        """The full transcript (bot turns with intent and confidence, internal notes)."""
        conversation = selectors.conversation_for_staff(user=request.user, conversation_id=conversation_id)
        escalation = selectors.open_escalation(conversation.pk)
        return Response(
            {
                "conversation_id": str(conversation.pk),
                "status": conversation.status,
                "visitor": str(conversation.visitor),
                "escalation": _escalation_data(escalation) if escalation else None,
                "messages": [selectors.staff_message_data(m) for m in selectors.transcript(conversation)],
            }
        )


class AcceptApi(AgentApi):
    @extend_schema(operation_id="agent_accept", request=None, responses=_OK)
    def post(self, request: Request, conversation_id: str) -> Response:
        escalation = agent_chat.escalation_accept(user=request.user, conversation_id=conversation_id)
        return Response({"escalation": _escalation_data(escalation)})


class SendApi(AgentApi):
    @extend_schema_serializer(component_name="AgentSendInput")
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=agent_chat.MAX_TEXT, trim_whitespace=True)
        client_msg_id = serializers.CharField(max_length=64, required=False, allow_null=True)

    @extend_schema(operation_id="agent_send", request=InputSerializer, responses=inline_serializer("AgentMessage", {"message": serializers.DictField()}))
    def post(self, request: Request, conversation_id: str) -> Response:
        """Reply to the visitor (idempotent on ``client_msg_id``)."""
        data = self.body(request)
        message = agent_chat.agent_message_send(
            user=request.user, conversation_id=conversation_id, text=data.get("text"), client_msg_id=data.get("client_msg_id")
        )
        return Response({"message": selectors.staff_message_data(message)}, status=201)


class NoteApi(AgentApi):
    @extend_schema(operation_id="agent_note", request=inline_serializer("AgentNoteInput", {"text": serializers.CharField()}), responses=inline_serializer("AgentNote", {"message": serializers.DictField()}))
    def post(self, request: Request, conversation_id: str) -> Response:
        """Add an internal note (staff only; never sent to the visitor)."""
        message = agent_chat.agent_note_add(user=request.user, conversation_id=conversation_id, text=self.body(request).get("text"))
        return Response({"message": selectors.staff_message_data(message)}, status=201)


class TransferApi(AgentApi):
    @extend_schema_serializer(component_name="AgentTransferInput")
    class InputSerializer(serializers.Serializer):
        to_user_id = serializers.IntegerField(required=False, allow_null=True)
        note = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @extend_schema(operation_id="agent_transfer", request=InputSerializer, responses=_OK)
    def post(self, request: Request, conversation_id: str) -> Response:
        """Hand the chat to another agent (``to_user_id``) or back to the queue (omit it)."""
        serializer = self.InputSerializer(data=self.body(request))
        serializer.is_valid(raise_exception=True)
        result = agent_chat.escalation_transfer(user=request.user, conversation_id=conversation_id, **serializer.validated_data)
        return Response({"escalation": _escalation_data(result.new)})


class ReturnToBotApi(AgentApi):
    @extend_schema(operation_id="agent_return_to_bot", request=None, responses=_OK)
    def post(self, request: Request, conversation_id: str) -> Response:
        escalation = agent_chat.escalation_return_to_bot(user=request.user, conversation_id=conversation_id)
        return Response({"escalation": _escalation_data(escalation)})


class CloseApi(AgentApi):
    @extend_schema(operation_id="agent_close", request=None, responses=_OK)
    def post(self, request: Request, conversation_id: str) -> Response:
        """Close the chat; the visitor is asked for a CSAT rating."""
        escalation = agent_chat.escalation_close(user=request.user, conversation_id=conversation_id)
        return Response({"escalation": _escalation_data(escalation)})


class ReadApi(AgentApi):
    @extend_schema(operation_id="agent_read", request=inline_serializer("AgentReadInput", {"seq": serializers.IntegerField()}), responses={204: None})
    def post(self, request: Request, conversation_id: str) -> Response:
        selectors.conversation_for_staff(user=request.user, conversation_id=conversation_id)
        agent_chat.agent_read_mark(user=request.user, conversation_id=conversation_id, seq=self.body(request).get("seq"))
        return Response(status=204)


class SuggestionsApi(AgentApi):
    @extend_schema(operation_id="agent_suggestions", responses=inline_serializer("AgentSuggestions", {"results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request, conversation_id: str) -> Response:
        """FAQ answers for the visitor's latest message (agent assist)."""
        conversation = selectors.conversation_for_staff(user=request.user, conversation_id=conversation_id)
        return Response({"results": kb_suggestions(conversation)})


class PresenceApi(AgentApi):
    @extend_schema(operation_id="agent_presence_get", responses=inline_serializer("AgentPresence", {"presence": serializers.CharField(), "capacity": serializers.IntegerField()}))
    def get(self, request: Request) -> Response:
        profile = agent_profile_ensure(request.user)
        return Response({"presence": profile.presence, "capacity": profile.capacity, "display_name": profile.display_name})

    @extend_schema(operation_id="agent_presence_set", request=inline_serializer("AgentPresenceInput", {"presence": serializers.CharField()}), responses=inline_serializer("AgentPresenceOut", {"presence": serializers.CharField()}))
    def put(self, request: Request) -> Response:
        profile = presence_set(user=request.user, presence=self.body(request).get("presence"))
        return Response({"presence": profile.presence, "capacity": profile.capacity, "display_name": profile.display_name})


class AgentsApi(AgentApi):
    @extend_schema(operation_id="agent_list", responses=inline_serializer("AgentList", {"results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        """Agents one may transfer to (online or away), with their load."""
        return Response({"results": selectors.transfer_targets(exclude_user_id=request.user.pk)})


class CannedResponsesApi(AgentApi):
    @extend_schema(operation_id="agent_canned", responses=inline_serializer("AgentCanned", {"results": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        rows = CannedResponse.objects.values("shortcut", "title", "text")
        return Response({"results": list(rows)})


# ---------------------------------------------------------------- visitor side (session token)


class VisitorApi(APIView):
    """Visitor endpoints authenticate by the session token header, like the chat API."""

    authentication_classes: list = []
    permission_classes: list = []

    def conversation(self, request: Request, session_id: str) -> Any:
        from conversations.selectors import conversation_for_token

        return conversation_for_token(session_id=session_id, token=request.headers.get("X-Session-Token"))

    def body(self, request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise ApplicationError("malformed_body", _("请求体必须是 JSON 对象"))
        return request.data


class LeftMessageApi(VisitorApi):
    @extend_schema(
        operation_id="session_left_message",
        request=inline_serializer("LeftMessageInput", {"contact": serializers.CharField(), "text": serializers.CharField(), "name": serializers.CharField(required=False)}),
        responses={201: inline_serializer("LeftMessageOut", {"id": serializers.IntegerField()})},
    )
    def post(self, request: Request, session_id: str) -> Response:
        """Leave a message (contact + text) when no agent can take the chat; agents follow up later."""
        from .services.visitor import left_message_create

        conversation = self.conversation(request, session_id)
        data = self.body(request)
        left = left_message_create(conversation=conversation, contact=data.get("contact"), text=data.get("text"), name=data.get("name", ""))
        return Response({"id": left.pk}, status=201)


class CsatApi(VisitorApi):
    @extend_schema(
        operation_id="session_csat",
        request=inline_serializer("CsatInput", {"rating": serializers.IntegerField(min_value=1, max_value=5), "comment": serializers.CharField(required=False)}),
        responses=inline_serializer("CsatOut", {"rating": serializers.IntegerField(), "comment": serializers.CharField()}),
    )
    def post(self, request: Request, session_id: str) -> Response:
        """Rate the human service after the agent closed the chat (1–5 stars + comment), once."""
        from .services.visitor import csat_submit

        data = self.body(request)
        conversation = csat_submit(conversation=self.conversation(request, session_id), rating=data.get("rating"), comment=data.get("comment", ""))
        return Response({"rating": conversation.csat_rating, "comment": conversation.csat_comment})
