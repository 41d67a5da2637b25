"""The dashboard's request handling, mounted by ``csbot.admin_site.CsbotAdminSite``.

Thin: parse the filter form, call ``selectors.dashboard``, hand plain data to the template
or the CSV writer. Only users with ``conversations.view_dashboard`` (managers, superusers)
get here; the site checks it.
"""
from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from csbot.roles import DASHBOARD_PERMISSION

from .charts import dashboard_charts
from .export import dashboard_csv
from .forms import PRESET_LABELS, DashboardFilterForm
from .present import cards, tables
from .selectors import dashboard


def can_view_dashboard(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False) and user.has_perm(DASHBOARD_PERMISSION))


def dashboard_context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    """Template context for the admin index's dashboard, and the HTTP status (400 on a bad filter)."""
    form = DashboardFilterForm(request.GET)  # bound even when empty: defaults apply in clean()
    if not form.is_valid():
        return {"dashboard_form": form, "dashboard_presets": _presets("")}, 400
    data = form.cleaned_data
    result = dashboard(data["start"], data["end"], data.get("channel") or None)
    shown = DashboardFilterForm(initial={"start": data["start"], "end": data["end"], "channel": data.get("channel") or ""})
    query = form.params()
    return {
        "dashboard": result,
        "dashboard_form": shown,
        "dashboard_charts": dashboard_charts(result),
        "dashboard_cards": cards(result),
        "dashboard_tables": tables(result),
        "dashboard_query": query,
        "dashboard_presets": _presets(data.get("channel") or ""),
        "dashboard_preset": data.get("range") or "",
        "dashboard_channel_label": dict(DashboardFilterForm.base_fields["channel"].choices).get(data.get("channel") or "", ""),
    }, 200


def _presets(channel: str) -> list[tuple[str, str, str]]:
    from urllib.parse import urlencode

    return [(key, str(label), urlencode({"range": key, **({"channel": channel} if channel else {})})) for key, label in PRESET_LABELS]


@require_GET
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """``GET …/dashboard/export.csv?start=&end=&channel=``: the metrics of that range as CSV."""
    form = DashboardFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(_("筛选条件有误：%(errors)s") % {"errors": errors}, status=400, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    result = dashboard(data["start"], data["end"], data.get("channel") or None)
    response = HttpResponse(dashboard_csv(result), content_type="text/csv; charset=utf-8")
    suffix = f"-{data['channel']}" if data.get("channel") else ""
    response["Content-Disposition"] = f'attachment; filename="csbot-dashboard-{data["start"]:%Y%m%d}-{data["end"]:%Y%m%d}{suffix}.csv"'
    return response


# ------------------------------------------------------------------ plotly.js, served locally


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed Python package (the version we pin)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def _plotly_bundle() -> tuple[bytes, bytes, str]:
    raw = plotly_js_path().read_bytes()
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), hashlib.sha256(raw).hexdigest()[:16]


def plotly_version() -> str:
    import plotly

    return plotly.__version__


@require_GET
def plotly_js(request: HttpRequest) -> HttpResponse:
    """plotly.js from the installed package: no CDN, cached by browsers for a year.

    The URL carries the package version (``?v=``), so an upgrade changes the URL; the body
    is gzipped once per process when the browser accepts it (4.8 MB → ~1.4 MB).
    """
    raw, compressed, digest = _plotly_bundle()
    etag = f'"{digest}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(compressed, content_type="text/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(raw, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
