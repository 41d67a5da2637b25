"""Site keys: the demo shop's key, created idempotently by ``demo_setup``."""
from __future__ import annotations

from django.db import transaction

from ..models import SiteKey

DEMO_SITE_KEY = "yunduo-demo"
DEMO_SITE_DEFAULTS = {
    "name": "云朵优选（演示商城）",
    "allowed_origins": "http://127.0.0.1:8000\nhttp://localhost:8000",
    "welcome_message": "您好，欢迎光临**云朵优选**！我是智能客服小云 ☁️\n\n订单、物流、退换货、退款、发票、会员……都可以问我；需要人工时点“转人工”即可。",
    "theme_color": "#2f7cf6",
}


@transaction.atomic
def demo_site_key_ensure() -> tuple[SiteKey, bool]:
    """Create the demo shop's site key if missing; never overwrites a manager's edits.

    Returns ``(site_key, created)``. The demo page at ``/`` embeds this key.
    """
    site, created = SiteKey.objects.get_or_create(key=DEMO_SITE_KEY, defaults=DEMO_SITE_DEFAULTS)
    return site, created
