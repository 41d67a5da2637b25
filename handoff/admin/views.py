"""The live agent console page, mounted by ``AgentConsoleAdmin.get_urls`` (``/admin/handoff/agentconsole/``).

The page is a shell: everything live comes over ``/ws/agent/`` (``handoff.consumers``), so
this view only checks the role and renders the template with the socket URL and texts.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from ..enums import EscalationReason, Presence
from ..selectors import staff_role


class ConsoleView(View):
    model_admin: admin.ModelAdmin | None = None
    template_name = "admin/handoff/console.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> TemplateResponse:
        role = staff_role(request.user)
        if role is None:
            raise PermissionDenied
        assert self.model_admin is not None
        context = {
            **self.model_admin.admin_site.each_context(request),
            "title": _("坐席工作台"),
            "opts": self.model_admin.model._meta,
            "role": role,
            "console_config": {
                "socketPath": "/ws/agent/",
                "leftMessagesUrl": reverse("admin:handoff_leftmessage_changelist") + "?status__exact=new",
                "role": role,
                "presences": [{"value": value, "label": str(label)} for value, label in Presence.choices],
                "reasons": {value: str(label) for value, label in EscalationReason.choices},
            },
        }
        return TemplateResponse(request, self.template_name, context)
