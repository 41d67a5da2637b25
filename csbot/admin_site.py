"""csbot's AdminSite: Chinese branding, and the managers' dashboard as the admin index.

Users with ``conversations.view_dashboard`` (客服主管 and superusers) see the analytics
dashboard above the usual app list; everyone else (agents) gets the ordinary index with a
shortcut to the agent console. The dashboard's CSV export and the locally served plotly.js
hang off the site's URLs; the work itself lives in ``conversations.analytics``.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext_lazy as _


class CsbotAdminSite(admin.AdminSite):
    site_header = _("csbot 智能客服")
    site_title = _("csbot 管理后台")
    index_title = _("客服运营管理")

    def get_urls(self) -> list:
        from conversations.analytics import views

        return [
            path("dashboard/export.csv", self.admin_view(self._dashboard_only(views.dashboard_export)), name="dashboard_export"),
            path("dashboard/plotly.min.js", self.admin_view(views.plotly_js, cacheable=True), name="dashboard_plotly"),
            *super().get_urls(),
        ]

    @staticmethod
    def _dashboard_only(view):  # noqa: ANN001,ANN205
        from conversations.analytics.views import can_view_dashboard

        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can_view_dashboard(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from conversations.analytics.views import can_view_dashboard, dashboard_context, plotly_version

        context: dict[str, Any] = dict(extra_context or {})
        status = 200
        if can_view_dashboard(request.user):
            dashboard, status = dashboard_context(request)
            context.update(dashboard, show_dashboard=True, plotly_version=plotly_version())
            context["title"] = _("运营看板")
        else:
            try:
                context["console_url"] = reverse("admin:handoff_agentconsole_changelist", current_app=self.name)
            except NoReverseMatch:  # the handoff app is not installed
                pass
        response = super().index(request, extra_context=context)
        response.status_code = status
        return response
