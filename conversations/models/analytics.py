"""Daily analytics aggregates: what the managers' dashboard reads for past days.

One row per (local day, channel). The row does not store finished percentages or medians:
it stores the *mergeable parts* of every metric (counts, and per-second histograms of queue
waits and first-response times), so any date range is the exact sum of its days and a
median over 30 days is the true median of all the waits in them, never a median of medians.
The schema of ``data`` is ``conversations.analytics.partials.DayPartial``.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..enums import Channel


class DailyMetrics(models.Model):
    """The mergeable metric parts of one local day (site time zone) and one channel.

    Written only by ``conversations.analytics.services.day_compute`` (an idempotent upsert);
    ``computed_at`` is when that computation started, the watermark of the refresh task.
    """

    day = models.DateField(_("日期"))
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    conversations = models.PositiveIntegerField(_("会话数"), default=0)
    messages = models.PositiveIntegerField(_("消息数"), default=0)
    data = models.JSONField(_("指标数据"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("每日运营统计")
        verbose_name_plural = pgettext_lazy("plural", "每日运营统计")
        ordering = ["day", "channel"]
        # The dashboard is a permission of its own (managers and superusers), not a model's CRUD.
        default_permissions = ()
        permissions = [("view_dashboard", _("可以查看运营看板"))]
        constraints = [models.UniqueConstraint(fields=["day", "channel"], name="conversations_dailymetrics_unique_day_channel")]
        indexes = [models.Index(fields=["computed_at"], name="conv_dailymetrics_computed_idx")]

    def __str__(self) -> str:
        return f"{self.day} · {self.channel}"
