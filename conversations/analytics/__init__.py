"""Managers' analytics: metric definitions, daily aggregates and the admin dashboard's data.

- ``compute``: raw rows → mergeable ``DayPartial`` per (local day, channel); the definitions.
- ``partials``: the mergeable parts (counts and whole-second histograms) and their JSON.
- ``metrics``: partials → finished numbers (rates, median, p90, tables) as ``Dashboard``.
- ``services``: writes — ``day_compute`` (idempotent upsert) and ``analytics_refresh`` (beat).
- ``selectors``: reads — ``dashboard`` (stored past days + live today) and ``dashboard_live``.
- ``forms``, ``present``, ``charts``, ``export``, ``views``: the admin page and its CSV.
"""
from .metrics import Dashboard
from .selectors import dashboard, dashboard_live
from .services import analytics_refresh, day_compute

__all__ = ["Dashboard", "analytics_refresh", "dashboard", "dashboard_live", "day_compute"]
