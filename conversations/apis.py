"""The visitor REST API (``/api/v1/``): one APIView per operation, nested Input/Output serializers.

Views only parse, call one service and serialise; every rule and error lives in the
services and reaches clients as ``{code, detail}`` through ``csbot.api.exception_handler``.
The session token travels in the ``X-Session-Token`` header, never in the URL.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csbot.errors import ApplicationError

from .enums import Channel
from .models import Conversation
from .realtime import message_data
from .selectors import conversation_by_token, conversation_for_token, conversation_history, conversation_id_for_token, site_key_active
from .services import feedback_submit, message_text_clean, session_start, turn_handle

TOKEN_HEADER = OpenApiParameter(
    "X-Session-Token", OpenApiTypes.STR, OpenApiParameter.HEADER, description="会话令牌（新建会话时由 /chat 返回）"
)


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """Every error: a stable machine-readable ``code`` and a human ``detail`` (Chinese)."""

    code = serializers.CharField()
    detail = serializers.CharField()


def _errors(descriptions: dict[int, str], *, token: bool = True) -> dict[int, OpenApiResponse]:
    """OpenAPI error responses (``{code, detail}``) by status; ``token`` adds the session-token ones."""
    if token:
        descriptions = {401: "token_required", 403: "invalid_token", **descriptions}
    return {status: OpenApiResponse(ErrorSerializer, description=text) for status, text in sorted(descriptions.items())}


def _client_ip(request: Request) -> str:
    # Behind nginx, REMOTE_ADDR is set from X-Real-IP by the proxy config, never trusted from clients.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _body(request: Request) -> dict[str, Any]:
    """The JSON object body; anything else (a list, a string) is a malformed body."""
    if not isinstance(request.data, dict):
        raise ApplicationError("malformed_body", _("请求体必须是 JSON 对象"))
    return request.data


@extend_schema_serializer(component_name="Suggestion")
class SuggestionSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField()
    question = serializers.CharField()


@extend_schema_serializer(component_name="FeedbackState")
class FeedbackStateSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(allow_null=True)
    rating = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="Message")
class MessageSerializer(serializers.Serializer):
    """The full message object (the same as the WebSocket ``message`` frame's)."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    sender = serializers.ChoiceField(choices=["visitor", "bot", "agent", "system"])
    kind = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField(allow_null=True, help_text="机器人/系统消息的安全 HTML（已净化）")
    created_at = serializers.DateTimeField()
    client_msg_id = serializers.CharField(allow_null=True)
    reply_to = serializers.IntegerField(allow_null=True)
    entry_id = serializers.IntegerField(allow_null=True)
    suggestions = SuggestionSerializer(many=True)
    actions = serializers.ListField(child=serializers.DictField())
    rateable = serializers.BooleanField()
    feedback = FeedbackStateSerializer(allow_null=True)


@extend_schema_serializer(component_name="ChatReply")
class ChatReplySerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField(allow_null=True)
    suggestions = SuggestionSerializer(many=True)
    entry_id = serializers.IntegerField(allow_null=True)
    actions = serializers.ListField(child=serializers.DictField())


class ChatTurnApi(APIView):
    """Send one visitor message and get the bot's reply (creates a session when none is given)."""

    @extend_schema_serializer(component_name="ChatInput")
    class InputSerializer(serializers.Serializer):
        message = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="", help_text="访客消息（1–1000 字）")
        session_id = serializers.UUIDField(required=False, help_text="继续已有会话时必填，并在 X-Session-Token 头中带上令牌")
        user_id = serializers.CharField(required=False, max_length=128, help_text="接入方系统中的用户 ID（仅新建会话时使用）")
        client_msg_id = serializers.CharField(required=False, max_length=64, help_text="客户端消息 ID；重复发送返回已保存的结果")
        entry_id = serializers.IntegerField(required=False, min_value=1, help_text="点击推荐问题时，该问题的条目 ID")
        handoff = serializers.BooleanField(required=False, default=False, help_text="访客点击“转人工”")

    @extend_schema_serializer(component_name="ChatOutput")
    class OutputSerializer(serializers.Serializer):
        session_id = serializers.UUIDField()
        token = serializers.CharField()
        response = serializers.CharField(allow_blank=True, help_text="回复文本（人工接待时为空）")
        intent = serializers.CharField(allow_blank=True)
        confidence = serializers.FloatField(allow_null=True)
        status = serializers.CharField()
        reply = ChatReplySerializer(allow_null=True, help_text="机器人的回复；人工接待时为 null")
        duplicate = serializers.BooleanField(help_text="重复的 client_msg_id：返回的是已保存的结果")

    @extend_schema(
        operation_id="chat_turn",
        parameters=[TOKEN_HEADER],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **_errors({400: "empty_message / message_too_long / malformed_body / invalid", 404: "session_not_found", 409: "session_closed", 429: "rate_limited"}),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        text = message_text_clean(data["message"])  # before creating a session for nothing
        if data.get("session_id"):
            token = request.headers.get("X-Session-Token", "")
            # turn_handle reads only the pk: the token check needs no model instance.
            conversation = Conversation(pk=conversation_id_for_token(session_id=data["session_id"], token=token))
        else:
            grant = session_start(channel=Channel.API, user_id=data.get("user_id"), client_ip=_client_ip(request))
            conversation, token = grant.conversation, grant.token
        result = turn_handle(
            conversation=conversation,
            text=text,
            client_msg_id=data.get("client_msg_id"),
            source=Channel.API,
            entry_id=data.get("entry_id"),
            handoff=data["handoff"],
        )
        reply = None
        if result.reply is not None:
            full = message_data(result.reply, feedback=None)
            reply = {
                "message_id": full["id"],
                "seq": full["seq"],
                "kind": full["kind"],
                "text": full["text"],
                "html": full["html"],
                "suggestions": full["suggestions"],
                "entry_id": full["entry_id"],
                "actions": full["actions"],
            }
        body = {
            "session_id": str(result.conversation.pk),
            "token": token,
            "response": result.reply.text if result.reply else "",
            "intent": result.intent,
            "confidence": result.confidence,
            "status": result.conversation.status,
            "reply": reply,
            "duplicate": result.duplicate,
        }
        # Already the OutputSerializer's shape and types (a test holds them equal): running
        # it again costs ~1 ms of field copying per message on the busiest endpoint.
        return Response(body)


class SessionHistoryApi(APIView):
    """Every message of the session the token belongs to, in order, with sequence numbers."""

    @extend_schema_serializer(component_name="HistoryOutput")
    class OutputSerializer(serializers.Serializer):
        session_id = serializers.UUIDField()
        status = serializers.CharField()
        last_seq = serializers.IntegerField()
        messages = MessageSerializer(many=True)

    @extend_schema(
        operation_id="session_history",
        parameters=[
            TOKEN_HEADER,
            OpenApiParameter("since_seq", OpenApiTypes.INT, OpenApiParameter.QUERY, description="只返回序号大于此值的消息"),
        ],
        responses={
            200: OutputSerializer,
            **_errors({404: "session_not_found"}),
        },
    )
    def get(self, request: Request, session_id: str) -> Response:
        conversation = conversation_for_token(session_id=session_id, token=request.headers.get("X-Session-Token", ""))
        since = request.query_params.get("since_seq", "0")
        if not since.isdigit():
            raise ApplicationError("invalid", _("since_seq 必须是非负整数"))
        messages = [message_data(m) for m in conversation_history(conversation=conversation, since_seq=int(since))]
        body = {"session_id": conversation.pk, "status": conversation.status, "last_seq": conversation.last_seq, "messages": messages}
        return Response(self.OutputSerializer(body).data)


class MessageFeedbackApi(APIView):
    """Rate one of the bot's answers in the token's session: helpful yes/no, 1–5, comment."""

    @extend_schema_serializer(component_name="FeedbackInput")
    class InputSerializer(serializers.Serializer):
        helpful = serializers.BooleanField(required=False, allow_null=True, default=None)
        rating = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5)
        comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)

    @extend_schema_serializer(component_name="FeedbackOutput")
    class OutputSerializer(serializers.Serializer):
        message_id = serializers.IntegerField()
        helpful = serializers.BooleanField(allow_null=True)
        rating = serializers.IntegerField(allow_null=True)
        comment = serializers.CharField(allow_blank=True)

    @extend_schema(
        operation_id="message_feedback",
        parameters=[TOKEN_HEADER],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **_errors({400: "invalid_feedback / malformed_body / invalid", 404: "message_not_found", 409: "not_rateable"}),
        },
    )
    def post(self, request: Request, message_id: str) -> Response:
        conversation = conversation_by_token(request.headers.get("X-Session-Token", ""))
        serializer = self.InputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        feedback = feedback_submit(conversation=conversation, message_id=message_id, **serializer.validated_data)
        body = {"message_id": feedback.message_id, "helpful": feedback.helpful, "rating": feedback.rating, "comment": feedback.comment}
        return Response(self.OutputSerializer(body).data)


class WidgetConfigApi(APIView):
    """What the widget shows before it connects: the site's name, welcome message and colour.

    Readable cross-origin by the site's allowed origins (a simple GET: no preflight).
    """

    @extend_schema_serializer(component_name="WidgetConfig")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        welcome_message = serializers.CharField()
        welcome_html = serializers.CharField()
        theme_color = serializers.CharField()

    @extend_schema(operation_id="widget_config", responses={200: OutputSerializer, **_errors({404: "site_not_found"}, token=False)})
    def get(self, request: Request, site_key: str) -> Response:
        from .services.understanding import answer_html

        site = site_key_active(site_key)
        body = {
            "name": site.name,
            "welcome_message": site.welcome_message,
            "welcome_html": answer_html(site.welcome_message),
            "theme_color": site.theme_color,
        }
        response = Response(self.OutputSerializer(body).data)
        origin = request.headers.get("Origin")
        if origin and site.origin_allowed(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response
