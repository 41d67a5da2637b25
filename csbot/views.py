"""Liveness and readiness endpoints for load balancers and orchestrators."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from csbot.health import readiness
from csbot.metrics import CsbotCollector

_registry = CollectorRegistry(auto_describe=False)
_registry.register(CsbotCollector())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving; touches no dependency on purpose."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency answers; 503 with the failing component otherwise."""
    ready, components = readiness()
    return JsonResponse({"status": "ok" if ready else "unavailable", "components": components}, status=200 if ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: shared counters (from the cache) and database gauges."""
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
