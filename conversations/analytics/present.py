"""Display strings for the dashboard page: KPI cards and table cells, formatted once here.

The template stays free of arithmetic (percentages, durations), and the formatting rules
are testable: a rate with no denominator is "—", durations read as 秒 / 分 / 小时.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .metrics import Dashboard

DASH = "—"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None) -> str:
    """``38 秒``, ``2 分 5 秒``, ``1 小时 3 分``; halves kept (medians of even counts)."""
    if seconds is None:
        return DASH
    if seconds < 60:
        return _("%(s)s 秒") % {"s": f"{seconds:g}"}
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return _("%(m)d 分 %(s)s 秒") % {"m": minutes, "s": f"{rest:g}"}
    hours, rest = divmod(seconds, 3600)
    return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": rest // 60}


def number(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    detail: str
    help: str


def cards(d: Dashboard) -> list[Card]:
    k = d.kpis
    return [
        Card("conversations", _("会话数"), f"{k.conversations:,}", _("消息 %(n)s 条") % {"n": f"{k.messages:,}"}, _("所选日期内开始的会话；消息数为这些天内访客、机器人和坐席发送的消息")),
        Card(
            "resolution",
            _("机器人解决率"),
            pct(k.resolution_rate),
            _("%(r)s / %(c)s 个已结束会话") % {"r": k.resolved, "c": k.closed},
            _("已结束、从未转人工、且最后一条被评价的机器人回答不是“没帮助”的会话，占已结束会话的比例"),
        ),
        Card("handoff", _("转人工率"), pct(k.handoff_rate), _("%(e)s 个会话转人工") % {"e": k.escalated}, _("发生过转人工请求的会话占全部会话的比例")),
        Card(
            "queue_wait",
            _("排队等待（中位数）"),
            duration(k.queue_wait_median),
            _("P90 %(p)s · %(n)s 次接入") % {"p": duration(k.queue_wait_p90), "n": k.accepted},
            _("从请求人工到坐席接入的时间，仅统计已接入的请求"),
        ),
        Card(
            "first_response",
            _("坐席首次响应（中位数）"),
            duration(k.first_response_median),
            _("%(n)s 次接入有回复") % {"n": k.first_response_count},
            _("坐席接入后发出第一条消息所用的时间"),
        ),
        Card("csat", _("满意度"), number(k.csat_average), _("%(n)s 人评价（1–5 分）") % {"n": k.csat_count}, _("人工服务结束后访客给出的评分平均值")),
        Card(
            "helpful",
            _("回答有帮助率"),
            pct(k.helpful_rate),
            _("👍 %(y)s · 👎 %(n)s") % {"y": k.helpful_yes, "n": k.helpful_no},
            _("机器人回答被评为“有帮助”的比例"),
        ),
    ]


def tables(d: Dashboard) -> dict[str, list[dict[str, object]]]:
    """Rows of the page's tables with display strings (raw values stay in the CSV)."""
    return {
        "reasons": [{"label": r.label, "reason": r.reason, "count": r.conversations, "rate": pct(r.rate)} for r in d.reasons],
        "intents": [{"intent": i.intent, "count": i.count, "share": pct(i.share)} for i in d.intents],
        "entries": [
            {
                "id": e.entry_id,
                "question": e.question,
                "hits": e.hits,
                "helpful": pct(e.helpful_rate),
                "votes": e.helpful_yes + e.helpful_no,
                "handoffs": e.handoffs,
            }
            for e in d.entries
        ],
        "agents": [
            {
                "id": a.agent_id,
                "name": a.name,
                "accepted": a.accepted,
                "first_response": duration(a.first_response_median),
                "csat": number(a.csat_average),
                "csat_count": a.csat_count,
            }
            for a in d.agents
        ],
    }
