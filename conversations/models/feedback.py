"""A visitor's verdict on one bot answer."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from csbot.models import TimeStampedModel


class Feedback(TimeStampedModel):
    """A visitor's verdict on one bot answer: helpful yes/no and/or a 1–5 rating with a comment."""

    message = models.OneToOneField("conversations.Message", verbose_name=_("消息"), on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("有帮助"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    comment = models.TextField(_("评价"), blank=True)

    class Meta:
        verbose_name = _("答案反馈")
        verbose_name_plural = pgettext_lazy("plural", "答案反馈")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="conversations_feedback_rating_range"),
            models.CheckConstraint(condition=Q(helpful__isnull=False) | Q(rating__isnull=False), name="conversations_feedback_has_verdict"),
        ]

    def __str__(self) -> str:
        verdict = {True: "👍", False: "👎", None: ""}[self.helpful]
        return f"{verdict}{self.rating or ''} · {self.message_id}"
