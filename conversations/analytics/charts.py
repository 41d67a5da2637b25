"""Plotly figure specs (plain dicts) for the dashboard; ``static/dashboard/dashboard.js`` draws them.

Why plain dicts rather than ``plotly.graph_objects``: the figures are tiny, and building
validated figure objects costs tens of milliseconds per request for nothing the browser
needs; the dicts follow plotly.js's documented figure schema (``data`` traces + ``layout``).
The Python package is still what ships the matching ``plotly.min.js`` (see ``views``).
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .metrics import Dashboard

# One colour per channel, and a palette that stays readable for colour-blind readers (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
_FONT = {"family": "-apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif", "size": 12}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"},
        "font": _FONT,
        "margin": {"l": 48, "r": 16, "t": 40, "b": 40},
        "height": 280,
        "legend": {"orientation": "h", "y": -0.2, "traceorder": "normal"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def _count_axis(values: list[int]) -> dict[str, Any]:
    """An axis of counts: integers only (no "0.5 chats"); one tick per unit when counts are small."""
    axis: dict[str, Any] = {"rangemode": "tozero", "tickformat": ",d"}
    if max(values, default=0) <= 10:
        axis["dtick"] = 1
    return axis


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def dashboard_charts(d: Dashboard) -> dict[str, dict[str, Any]]:
    """Figure specs keyed by the id of the element that shows them."""
    x = [p.day.isoformat() for p in d.days]
    by_channel = []
    messages = []
    for i, (value, label) in enumerate(d.channels):
        color = PALETTE[i % len(PALETTE)]
        by_channel.append({"type": "bar", "name": label, "x": x, "y": [p.conversations.get(value, 0) for p in d.days], "marker": {"color": color}})
        messages.append(
            {"type": "scatter", "mode": "lines+markers", "name": label, "x": x, "y": [p.messages.get(value, 0) for p in d.days], "line": {"color": color}}
        )
    rates = [
        {"type": "scatter", "mode": "lines+markers", "name": _("机器人解决率"), "x": x, "y": [_pct(p.resolution_rate) for p in d.days], "line": {"color": PALETTE[2]}},
        {"type": "scatter", "mode": "lines+markers", "name": _("转人工率"), "x": x, "y": [_pct(p.handoff_rate) for p in d.days], "line": {"color": PALETTE[5]}},
    ]
    reasons = list(reversed(d.reasons))  # horizontal bars read top-down
    date_axis: dict[str, Any] = {"type": "date", "tickformat": "%m-%d"}
    if len(x) <= 14:
        date_axis["dtick"] = 86400000  # one tick per day (ms) for short ranges
    return {
        "chart-conversations": {
            "data": by_channel,
            "layout": _layout(_("每日会话数（按渠道）"), barmode="stack", xaxis=date_axis, yaxis=_count_axis([sum(p.conversations.values()) for p in d.days])),
        },
        "chart-messages": {"data": messages, "layout": _layout(_("每日消息数（按渠道）"), xaxis=date_axis, yaxis=_count_axis([n for p in d.days for n in p.messages.values()]))},
        "chart-rates": {"data": rates, "layout": _layout(_("每日机器人解决率与转人工率（%）"), xaxis=date_axis, yaxis={"range": [0, 100], "ticksuffix": "%"})},
        "chart-reasons": {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "x": [r.conversations for r in reasons],
                    "y": [r.label for r in reasons],
                    "marker": {"color": PALETTE[5]},
                    "hovertemplate": "%{y}: %{x}<extra></extra>",
                }
            ],
            "layout": _layout(
                _("转人工原因（会话数）"), margin={"l": 16, "r": 16, "t": 40, "b": 40}, showlegend=False,
                xaxis=_count_axis([r.conversations for r in d.reasons]), yaxis={"automargin": True},
            ),  # fmt: skip
        },
        "chart-csat": {
            "data": [
                {
                    "type": "bar",
                    "x": [f"{r}★" for r, _n in d.kpis.csat_distribution],
                    "y": [n for _r, n in d.kpis.csat_distribution],
                    "marker": {"color": ["#D55E00", "#E69F00", "#F0E442", "#56B4E9", "#009E73"]},
                    "hovertemplate": "%{x}: %{y}<extra></extra>",
                }
            ],
            "layout": _layout(_("满意度分布"), showlegend=False, yaxis=_count_axis([n for _r, n in d.kpis.csat_distribution])),
        },
    }
