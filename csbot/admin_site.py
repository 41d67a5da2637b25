"""csbot's AdminSite: Chinese branding now; the managers' dashboard index and console URLs hang off it later."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class CsbotAdminSite(admin.AdminSite):
    site_header = _("csbot 智能客服")
    site_title = _("csbot 管理后台")
    index_title = _("客服运营管理")
