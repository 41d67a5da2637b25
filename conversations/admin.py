"""Admin for visitors, conversations (with their transcript), messages, feedback, site keys
(with their embed snippet) and the bot's reply templates."""
from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Conversation, Feedback, Message, ReplyTemplate, SiteKey, Visitor
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


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["seq", "sender", "kind", "text", "suggested", "intent", "confidence", "matched_entry", "latency_ms", "created_at"]
    readonly_fields = fields
    ordering = ["seq"]

    @admin.display(description=_("推荐问题"))
    def suggested(self, obj: Message) -> str:
        return "；".join(s.get("question", "") for s in (obj.payload or {}).get("suggestions", []))

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["short_id", "visitor", "site_key", "channel", "status", "assigned_agent", "last_seq", "csat_rating", "last_activity_at", "created_at"]
    list_filter = ["status", "channel", "site_key", "close_reason", "csat_rating", "created_at"]
    search_fields = ["id", "visitor__external_id", "visitor__display_name", "messages__text"]
    list_select_related = ["visitor", "assigned_agent", "site_key"]
    readonly_fields = ["id", "visitor", "site_key", "last_seq", "created_at", "updated_at", "closed_at", "context"]
    inlines = [MessageInline]
    date_hierarchy = "created_at"

    @admin.display(description=_("会话 ID"), ordering="id")
    def short_id(self, obj: Conversation) -> str:
        return str(obj.id)[:8]


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
