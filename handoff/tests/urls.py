"""URLconf for handoff tests until ``csbot.urls`` includes the handoff APIs (same paths and names)."""
from django.urls import include, path

from csbot.urls import urlpatterns as project_urlpatterns

_v1 = ([path("agent/", include("handoff.urls")), path("", include("handoff.visitor_urls"))], "v1")
urlpatterns = [path("api/", include(([path("v1/", include(_v1))], "api"))), *[p for p in project_urlpatterns if str(getattr(p, "pattern", "")) != "api/"]]
