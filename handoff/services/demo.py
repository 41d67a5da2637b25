"""Demo data of the handoff app for ``demo_setup``: canned responses and the shop's opening hours.

Idempotent: existing rows (possibly edited by a manager) are left alone. Business hours are
stored (9:00–22:00 every day, the demo shop's policy) but not switched on, so a demo run at
night still reaches the agent; managers switch them on in 转人工规则.
"""
from __future__ import annotations

from datetime import time

from django.db import transaction

from ..models import BusinessHours, CannedResponse

DEMO_CANNED = (
    ("hi", "问候", "您好，我是人工客服，很高兴为您服务～请问有什么可以帮您？"),
    ("wait", "请稍候", "好的，我这边马上帮您查询，请稍等 1–2 分钟～"),
    ("order", "要订单号", "麻烦提供一下您的订单号（App“我的→我的订单”中可以查看），我帮您查询。"),
    ("refund", "退款时效", "退款会原路退回：支付宝/微信 1–3 个工作日到账，银行卡 3–7 个工作日，余额/云朵币即时到账。"),
    ("chase", "催件", "已为您联系快递加急处理，物流 72 小时未更新的我们会持续跟进，有进展第一时间通知您。"),
    ("bye", "结束语", "感谢您的耐心，还有其他问题随时联系我们，祝您生活愉快！"),
)


@transaction.atomic
def handoff_demo_load() -> tuple[int, int]:
    """Create the demo canned responses and opening hours that are missing; returns (canned, hours) created."""
    canned = 0
    for shortcut, title, text in DEMO_CANNED:
        _row, created = CannedResponse.objects.get_or_create(shortcut=shortcut, defaults={"title": title, "text": text})
        canned += created
    hours = 0
    if not BusinessHours.objects.exists():
        BusinessHours.objects.bulk_create([BusinessHours(weekday=day, opens_at=time(9), closes_at=time(22)) for day in range(7)])
        hours = 7
    return canned, hours
