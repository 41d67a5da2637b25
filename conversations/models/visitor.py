"""An end user of the widget or of a channel."""
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel


class Visitor(TimeStampedModel):
    """An end user of the widget or a channel; ``external_id`` is the host site's user id when known."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(_("外部用户 ID"), max_length=128, null=True, blank=True)
    display_name = models.CharField(_("昵称"), max_length=64, blank=True)
    metadata = models.JSONField(_("附加信息"), default=dict, blank=True)
    last_seen_at = models.DateTimeField(_("最近访问"), null=True, blank=True)

    class Meta:
        verbose_name = _("访客")
        verbose_name_plural = pgettext_lazy("plural", "访客")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="conversations_visitor_unique_external_id"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.external_id or gettext("访客 %(id)s") % {"id": str(self.id)[:8]}
