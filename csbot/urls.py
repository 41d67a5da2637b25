"""Root URLconf: admin, health, the versioned API and its schema, and each app's pages."""
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from conversations import views as conversation_views
from csbot import views

# /api/v1/... under the namespace "api:v1"; each app contributes its routes here.
api_v1 = (
    [
        path("", include("conversations.urls")),
        path("", include("handoff.visitor_urls")),
        path("agent/", include("handoff.urls")),  # namespace api:v1:agent
    ],
    "v1",
)
api = ([path("v1/", include(api_v1))], "api")

urlpatterns = [
    path("", conversation_views.demo_shop, name="demo-shop"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    # gettext() for csbot's own scripts (the agent console), in the request's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api)),
]
