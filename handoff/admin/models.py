"""Admin for agent profiles, escalations, the escalation policy, business hours, canned responses,
left messages, and the sidebar entry of the agent console."""
from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..enums import LeftMessageStatus
from ..models import AgentConsole, AgentProfile, BusinessHours, CannedResponse, Escalation, EscalationPolicy, LeftMessage
from ..selectors import staff_role
from ..services.visitor import left_message_handle
from . import views


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "presence", "capacity", "last_seen_at"]
    list_filter = ["presence", "skills"]
    search_fields = ["display_name", "user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    filter_horizontal = ["skills"]
    autocomplete_fields = ["user"]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["conversation", "reason", "status", "agent", "category", "requested_at", "assigned_at", "accepted_at", "ended_at"]
    list_filter = ["reason", "status", "requested_at"]
    search_fields = ["conversation__id", "detail", "agent__username"]
    list_select_related = ["conversation", "agent", "category"]
    raw_id_fields = ["conversation"]
    date_hierarchy = "requested_at"
    # The record is an audit trail: its lifecycle is written by the services, never by hand.
    readonly_fields = [
        "conversation",
        "reason",
        "detail",
        "status",
        "category",
        "agent",
        "requested_at",
        "assigned_at",
        "accepted_at",
        "ended_at",
        "skipped_agents",
        "agent_read_seq",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    """A singleton: the list page goes straight to the one row."""

    fieldsets = [
        (_("何时转人工"), {"fields": ["handoff_intents", "keywords", "negative_threshold", "angry_threshold", "fallbacks_before_escalation", "unhelpful_before_escalation"]}),
        (_("排队与分配"), {"fields": ["assignment_timeout_seconds", "queue_abandon_minutes", "queue_message"]}),
        (_("工作时间与留言"), {"fields": ["use_business_hours", "out_of_hours_message", "no_agent_message"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EscalationPolicy | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponseRedirect:
        policy, _created = EscalationPolicy.objects.get_or_create(pk=EscalationPolicy.SINGLETON_PK)
        return HttpResponseRedirect(reverse("admin:handoff_escalationpolicy_change", args=[policy.pk]))


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_editable = ["opens_at", "closes_at"]
    list_display_links = ["weekday"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "category", "updated_at"]
    list_filter = ["category"]
    search_fields = ["shortcut", "title", "text"]


@admin.register(LeftMessage)
class LeftMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "name", "contact", "short_text", "status", "handled_by", "handled_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["contact", "name", "text"]
    readonly_fields = ["conversation", "name", "contact", "text", "created_at", "handled_by", "handled_at"]
    fields = ["conversation", "name", "contact", "text", "created_at", "status", "handled_by", "handled_at"]
    list_select_related = ["handled_by"]
    actions = ["mark_handled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("留言内容"))
    def short_text(self, obj: LeftMessage) -> str:
        return obj.text[:60]

    @admin.action(description=_("标记为已处理"), permissions=["change"])
    def mark_handled(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        rows = list(queryset.filter(status=LeftMessageStatus.NEW))
        for row in rows:
            left_message_handle(left_message=row, user=request.user)
        self.message_user(request, ngettext("已处理 %d 条留言", "已处理 %d 条留言", len(rows)) % len(rows), messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: LeftMessage, form, change: bool) -> None:  # noqa: ANN001
        if change and "status" in form.changed_data and obj.status == LeftMessageStatus.HANDLED:
            left_message_handle(left_message=obj, user=request.user)
        else:
            super().save_model(request, obj, form, change)


@admin.register(AgentConsole)
class AgentConsoleAdmin(admin.ModelAdmin):
    """The sidebar entry 坐席工作台: its list page is the live console (agents and managers)."""

    def _allowed(self, request: HttpRequest) -> bool:
        return staff_role(request.user) is not None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # noqa: ANN001
        return False

    def get_urls(self):  # noqa: ANN201
        # The console takes the changelist's place; the default URLs stay (and refuse everything else).
        return [
            path("", self.admin_site.admin_view(views.ConsoleView.as_view(model_admin=self)), name="handoff_agentconsole_changelist"),
            *[url for url in super().get_urls() if getattr(url, "name", None) != "handoff_agentconsole_changelist"],
        ]
