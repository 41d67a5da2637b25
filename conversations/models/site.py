"""Site keys: which websites may embed the chat widget, and how it greets and looks there."""
from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

_ORIGIN = re.compile(r"^https?://[a-z0-9.\-\[\]:]+$")

site_key_validator = RegexValidator(r"^[A-Za-z0-9_-]{3,64}$", _("只能包含字母、数字、下划线和连字符（3–64 位）"))
theme_color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("请填写 #RRGGBB 格式的颜色，例如 #2563eb"))


def site_key_generate() -> str:
    """A new public site identifier: unguessable so keys cannot be enumerated, URL-safe for query strings."""
    return f"site_{secrets.token_urlsafe(18)}"


def origin_normalize(value: str) -> str:
    """``HTTPS://Shop.Example.com/`` → ``https://shop.example.com`` (what browsers send as Origin)."""
    return value.strip().rstrip("/").lower()


class SiteKey(TimeStampedModel):
    """A website that embeds the widget.

    The key is public (it sits in the site's HTML); what protects it is the origin list: a
    browser on any other site is refused when it opens the chat socket.
    """

    name = models.CharField(_("站点名称"), max_length=64)
    key = models.CharField(_("站点密钥"), max_length=64, unique=True, default=site_key_generate, validators=[site_key_validator])
    allowed_origins = models.TextField(
        _("允许的来源"),
        blank=True,
        help_text=_("每行一个，例如 https://shop.example.com（协议+域名+端口，不带路径）。填 * 表示允许任何网站（不推荐）。"),
    )
    welcome_message = models.TextField(_("欢迎语"), default="您好！我是智能客服，请问有什么可以帮您？")
    theme_color = models.CharField(_("主题色"), max_length=7, default="#2563eb", validators=[theme_color_validator])
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("接入站点")
        verbose_name_plural = pgettext_lazy("plural", "接入站点")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(theme_color__regex=r"^#[0-9a-fA-F]{6}$"), name="conversations_sitekey_theme_color_format"),
            models.CheckConstraint(condition=~Q(welcome_message=""), name="conversations_sitekey_welcome_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def origin_list(self) -> list[str]:
        return [origin_normalize(line) for line in self.allowed_origins.splitlines() if line.strip()]

    def clean(self) -> None:
        bad = [origin for origin in self.origin_list if origin != "*" and not _ORIGIN.match(origin)]
        if bad:
            raise ValidationError({"allowed_origins": _("这些来源格式不对（应为 https://域名[:端口]）：%(bad)s") % {"bad": "、".join(bad)}})

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser page at ``origin`` may use this key (exact match, or ``*``)."""
        origins = self.origin_list
        return "*" in origins or origin_normalize(origin) in origins
