"""Admin for visitors, conversations (with their transcript), messages and feedback."""
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Conversation, Feedback, Message, Visitor


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
    fields = ["seq", "sender", "kind", "text", "intent", "confidence", "matched_entry", "latency_ms", "created_at"]
    readonly_fields = fields
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["short_id", "visitor", "channel", "status", "assigned_agent", "last_seq", "csat_rating", "last_activity_at", "created_at"]
    list_filter = ["status", "channel", "close_reason", "csat_rating", "created_at"]
    search_fields = ["id", "visitor__external_id", "visitor__display_name", "messages__text"]
    list_select_related = ["visitor", "assigned_agent"]
    readonly_fields = ["id", "visitor", "last_seq", "created_at", "updated_at", "closed_at"]
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
