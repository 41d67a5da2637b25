"""App configs of the project package: the admin site swap and the project's own app."""
from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class CsbotAdminConfig(AdminConfig):
    """Replaces ``django.contrib.admin`` so ``admin.site`` is csbot's own AdminSite."""

    default_site = "csbot.admin_site.CsbotAdminSite"


class CsbotConfig(AppConfig):
    name = "csbot"
    verbose_name = _("平台")
