"""Admin for agent profiles, escalations and canned responses."""
from django.contrib import admin

from .models import AgentProfile, CannedResponse, Escalation


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
    list_display = ["conversation", "reason", "status", "agent", "requested_at", "assigned_at", "accepted_at", "ended_at"]
    list_filter = ["reason", "status", "requested_at"]
    search_fields = ["conversation__id", "detail", "agent__username"]
    list_select_related = ["conversation", "agent"]
    raw_id_fields = ["conversation"]
    date_hierarchy = "requested_at"


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "category", "updated_at"]
    list_filter = ["category"]
    search_fields = ["shortcut", "title", "text"]
