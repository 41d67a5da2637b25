"""Reply templates: the bot's small talk, suggestion intro, fallback and notices, edited by managers."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel

from ..enums import TemplateKey


class ReplyTemplate(TimeStampedModel):
    """The text the bot sends for one template key; one row per key, seeded by a data migration."""

    key = models.CharField(_("场景"), max_length=32, choices=TemplateKey.choices, unique=True)
    text = models.TextField(_("回复内容"), help_text=_("支持安全的 Markdown（加粗、列表、链接）"))

    class Meta:
        verbose_name = _("回复模板")
        verbose_name_plural = pgettext_lazy("plural", "回复模板")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="conversations_template_text_not_empty"),
            models.CheckConstraint(condition=Q(key__in=TemplateKey.values), name="conversations_template_key_valid"),
        ]

    def __str__(self) -> str:
        return self.get_key_display()
