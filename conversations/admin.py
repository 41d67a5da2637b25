"""Admin for visitors, conversations (filters, message search, a readable transcript, CSV
export), messages, feedback, site keys (with their embed snippet) and the bot's reply templates."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .enums import Sender
from .models import Conversation, Feedback, Message, ReplyTemplate, SiteKey, Visitor
from .realtime import message_data
from .selectors import reply_templates_invalidate


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "external_id", "conversation_count", "last_seen_at", "created_at"]
    search_fields = ["id", "external_id", "display_name"]
    list_filter = ["created_at"]
    readonly_fields = ["id", "created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_conversation_count=Count("conversations"))

    @admin.display(description=_("会话数"), ordering="_conversation_count")
    def conversation_count(self, obj: Visitor) -> int:
        return obj._conversation_count


class EscalatedFilter(admin.SimpleListFilter):
    """转人工: whether the conversation was ever handed to a person (``handoff.Escalation``)."""

    title = _("是否转人工")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("是")), ("no", _("否"))]

    def queryset(self, request, queryset):
        from handoff.models import Escalation

        escalated = Exists(Escalation.objects.filter(conversation_id=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(escalated)
        if self.value() == "no":
            return queryset.filter(~escalated)
        return queryset


class AgentFilter(admin.SimpleListFilter):
    """坐席: conversations an agent served (was assigned, accepted an escalation or wrote in)."""

    title = _("坐席")
    parameter_name = "agent"

    def lookups(self, request, model_admin):
        from handoff.models import AgentProfile

        return [(str(p.user_id), p.display_name) for p in AgentProfile.objects.order_by("display_name")]

    def queryset(self, request, queryset):
        from handoff.models import Escalation

        value = self.value()
        if not value or not value.isdigit():
            return queryset
        user_id = int(value)
        return queryset.filter(
            Q(assigned_agent_id=user_id)
            | Exists(Escalation.objects.filter(conversation_id=OuterRef("pk"), agent_id=user_id))
            | Exists(Message.objects.filter(conversation_id=OuterRef("pk"), sender=Sender.AGENT, agent_id=user_id))
        )


class IntentFilter(admin.SimpleListFilter):
    """意图: conversations with a bot message of that intent.

    A bot message's intent is the matched FAQ category's slug or the classifier's intent, so
    the choices are the intents and categories managers defined (cheap rows, not a scan of
    the message table).
    """

    title = _("意图")
    parameter_name = "intent"

    def lookups(self, request, model_admin):
        from knowledge.models import Category
        from nlp.models import Intent

        choices = {name: f"{label}（{name}）" for name, label in Intent.objects.values_list("name", "display_name")}
        for slug, name in Category.objects.values_list("slug", "name"):
            choices.setdefault(slug, f"{name}（{slug}）")
        if self.value() and self.value() not in choices:
            choices[self.value()] = self.value()
        return sorted(choices.items())

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(Exists(Message.objects.filter(conversation_id=OuterRef("pk"), sender=Sender.BOT, intent=self.value())))


# --- CSV export ---------------------------------------------------------------------------------

CSV_BOM = "\ufeff"  # so Excel opens the UTF-8 file with the Chinese text intact
EXPORT_CHUNK = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[Any], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV lines one by one (never the whole file in memory), the first with a UTF-8 BOM."""
    writer = csv.writer(_Echo())
    yield CSV_BOM + writer.writerow([str(column) for column in header])
    for row in rows:
        yield writer.writerow(["" if v is None else v for v in row])


def csv_response(name: str, header: list[Any], rows: Iterable[list[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localtime():%Y%m%d-%H%M}.csv"'
    return response


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


# Headers in the reader's language (lazy: translated when the file is written).
CONVERSATION_COLUMNS = [
    _("会话 ID"), _("开始时间"), _("最近活动"), _("渠道"), _("状态"), _("接入站点"), _("访客"), _("外部用户 ID"),
    _("接待坐席"), _("消息数"), _("是否转人工"), _("满意度"), _("满意度评价"), _("结束原因"), _("结束时间"),
]


def conversation_rows(queryset: QuerySet[Conversation]) -> Iterator[list[Any]]:
    from handoff.models import Escalation

    queryset = (
        queryset.order_by()
        .select_related("visitor", "site_key", "assigned_agent")
        .annotate(_escalated=Exists(Escalation.objects.filter(conversation_id=OuterRef("pk"))))
        .order_by("created_at", "pk")
    )
    for c in queryset.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            str(c.pk), _local(c.created_at), _local(c.last_activity_at), c.get_channel_display(), c.get_status_display(),
            c.site_key.name if c.site_key_id else "", str(c.visitor), c.visitor.external_id or "",
            c.assigned_agent.get_username() if c.assigned_agent_id else "", c.last_seq, gettext("是") if c._escalated else gettext("否"),
            c.csat_rating, c.csat_comment, c.get_close_reason_display() if c.close_reason else "", _local(c.closed_at),
        ]


MESSAGE_COLUMNS = [
    _("会话 ID"), _("序号"), _("时间"), _("发送方"), _("类型"), _("坐席"), _("内容"), _("意图"), _("置信度"), _("命中条目"), _("有帮助"), _("评分"), _("评价"),
]


def message_rows(conversations: QuerySet[Conversation]) -> Iterator[list[Any]]:
    """Every message of the given conversations, in conversation then sequence order."""
    messages = (
        Message.objects.filter(conversation_id__in=conversations.order_by().values("pk"))
        .select_related("agent", "matched_entry", "feedback")
        .order_by("conversation__created_at", "conversation_id", "seq")
    )
    for m in messages.iterator(chunk_size=EXPORT_CHUNK):
        feedback = getattr(m, "feedback", None)
        yield [
            str(m.conversation_id), m.seq, _local(m.created_at), m.get_sender_display(), m.get_kind_display(),
            m.agent.get_username() if m.agent_id else "", m.text, m.intent,
            "" if m.confidence is None else round(m.confidence, 4), m.matched_entry.external_id if m.matched_entry_id else "",
            "" if feedback is None or feedback.helpful is None else (gettext("是") if feedback.helpful else gettext("否")),
            feedback.rating if feedback else "", feedback.comment if feedback else "",
        ]


# --- transcript ----------------------------------------------------------------------------------


def transcript_items(conversation: Conversation) -> list[dict[str, Any]]:
    """The conversation's messages for the transcript page: each message with its feedback, its
    HTML (bot/system Markdown, sanitised) and the matched FAQ entry."""
    messages = list(
        conversation.messages.select_related("feedback", "matched_entry", "agent").order_by("seq")
    )
    items = []
    for m in messages:
        feedback = getattr(m, "feedback", None)
        items.append(
            {
                "m": m,
                "html": message_data(m, feedback=feedback)["html"],
                "feedback": feedback,
                "suggestions": [s.get("question", "") for s in (m.payload or {}).get("suggestions", []) if isinstance(s, dict)],
                "agent_name": (m.payload or {}).get("agent_name") or (m.agent.get_username() if m.agent_id else ""),
            }
        )
    return items


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["short_id", "visitor", "site_key", "channel", "status", "assigned_agent", "last_seq", "csat_rating", "last_activity_at", "created_at", "transcript_link"]
    list_filter = ["status", "channel", AgentFilter, "created_at", "csat_rating", EscalatedFilter, IntentFilter, "site_key", "close_reason"]
    search_fields = ["id", "visitor__external_id", "visitor__display_name"]
    search_help_text = _("搜索会话 ID、访客，或消息内容（包含即可，多个词用空格分隔表示同时包含）")
    list_select_related = ["visitor", "assigned_agent", "site_key"]
    readonly_fields = ["id", "visitor", "site_key", "last_seq", "created_at", "updated_at", "closed_at", "context"]
    date_hierarchy = "created_at"
    actions = ["export_conversations_csv", "export_messages_csv"]
    change_form_template = "admin/conversations/conversation/change_form.html"
    change_list_template = "admin/conversations/conversation/change_list.html"

    @admin.display(description=_("会话 ID"), ordering="id")
    def short_id(self, obj: Conversation) -> str:
        return str(obj.id)[:8]

    @admin.display(description=_("聊天记录"))
    def transcript_link(self, obj: Conversation) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:conversations_conversation_transcript", args=[obj.pk]), gettext("查看"))

    def get_search_results(self, request, queryset, search_term):
        """The default fields, or — for every word — a message containing it (an ``EXISTS``
        subquery: results stay distinct without ``DISTINCT``, on SQLite and PostgreSQL alike;
        ``icontains`` because neither database's full-text parser segments Chinese)."""
        filtered = queryset
        by_fields, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = search_term.split()
        if not words:
            return by_fields, may_have_duplicates
        in_messages = Q()
        for word in words:
            in_messages &= Exists(Message.objects.filter(conversation_id=OuterRef("pk"), text__icontains=word))
        return filtered.filter(Q(pk__in=by_fields.order_by().values("pk")) | in_messages), False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:pk>/transcript/", wrap(self.transcript_view), name="conversations_conversation_transcript"),
            path("export/conversations.csv", wrap(self.export_filtered_conversations), name="conversations_conversation_export"),
            path("export/messages.csv", wrap(self.export_filtered_messages), name="conversations_conversation_export_messages"),
            *super().get_urls(),
        ]

    def transcript_view(self, request: HttpRequest, pk):
        """A read-only chat view: bubbles with sender, time, kind; intent, confidence, matched FAQ
        and feedback marks for bot messages; a 转为 FAQ button on agent replies."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        conversation = get_object_or_404(Conversation.objects.select_related("visitor", "site_key", "assigned_agent"), pk=pk)
        from handoff.models import Escalation

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("聊天记录"),
            "subtitle": str(conversation),
            "conversation": conversation,
            "items": transcript_items(conversation),
            "escalations": list(Escalation.objects.filter(conversation=conversation).select_related("agent").order_by("requested_at")),
            "can_promote": request.user.has_perm("knowledge.add_entry"),
            "entry_add_url": reverse("admin:knowledge_entry_add"),
        }
        return TemplateResponse(request, "admin/conversations/conversation/transcript.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["transcript_url"] = reverse("admin:conversations_conversation_transcript", args=[obj.pk])
            context["items"] = transcript_items(obj)
            context["can_promote"] = request.user.has_perm("knowledge.add_entry")
            context["entry_add_url"] = reverse("admin:knowledge_entry_add")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _filtered(self, request: HttpRequest) -> QuerySet[Conversation]:
        """The changelist's current queryset (filters, search, date drill-down), unpaginated."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.get_changelist_instance(request).get_queryset(request)

    def export_filtered_conversations(self, request: HttpRequest) -> StreamingHttpResponse:
        return csv_response("conversations", CONVERSATION_COLUMNS, conversation_rows(self._filtered(request)))

    def export_filtered_messages(self, request: HttpRequest) -> StreamingHttpResponse:
        return csv_response("messages", MESSAGE_COLUMNS, message_rows(self._filtered(request)))

    @admin.action(description=_("导出所选会话（CSV）"), permissions=["view"])
    def export_conversations_csv(self, request, queryset):
        return csv_response("conversations", CONVERSATION_COLUMNS, conversation_rows(queryset))

    @admin.action(description=_("导出所选会话的消息（CSV）"), permissions=["view"])
    def export_messages_csv(self, request, queryset):
        return csv_response("messages", MESSAGE_COLUMNS, message_rows(queryset))


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["conversation", "seq", "sender", "kind", "short_text", "intent", "confidence", "matched_entry", "latency_ms", "created_at"]
    list_filter = ["sender", "kind", "created_at"]
    search_fields = ["text", "intent", "conversation__id"]
    list_select_related = ["conversation", "matched_entry"]
    raw_id_fields = ["conversation", "matched_entry", "agent"]
    date_hierarchy = "created_at"

    @admin.display(description=_("内容"))
    def short_text(self, obj: Message) -> str:
        return obj.text[:60]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["message", "helpful", "rating", "comment", "created_at"]
    list_filter = ["helpful", "rating", "created_at"]
    search_fields = ["comment", "message__text"]
    list_select_related = ["message", "message__conversation"]
    raw_id_fields = ["message"]


def embed_snippet(request: HttpRequest, site: SiteKey) -> str:
    """The one line a customer pastes before ``</body>`` (absolute URL of this server's widget)."""
    src = request.build_absolute_uri(static("widget/csbot-widget.js"))
    return f'<script src="{src}" data-site-key="{site.key}" async></script>'


@admin.register(SiteKey)
class SiteKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "origins", "theme_swatch", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key", "allowed_origins"]
    fields = ["name", "key", "allowed_origins", "welcome_message", "theme_color", "is_active"]
    change_form_template = "admin/conversations/sitekey/change_form.html"

    @admin.display(description=_("允许的来源"))
    def origins(self, obj: SiteKey) -> str:
        return "，".join(obj.origin_list) or "—"

    @admin.display(description=_("主题色"))
    def theme_swatch(self, obj: SiteKey) -> str:
        return format_html('<span style="display:inline-block;width:14px;height:14px;border-radius:3px;background:{};vertical-align:middle"></span> {}', obj.theme_color, obj.theme_color)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["embed_snippet"] = embed_snippet(request, obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """One row per scene (seeded); managers edit the text, nobody adds or deletes scenes."""

    list_display = ["key", "text", "updated_at"]
    fields = ["key", "text"]
    readonly_fields = ["key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReplyTemplate | None = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        reply_templates_invalidate()  # this process at once; the others within TEMPLATES_TTL
