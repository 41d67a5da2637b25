"""Pages: the demo shop at ``/`` that embeds the widget exactly as a customer's site would."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from .selectors import site_key_find
from .services.sites import DEMO_SITE_KEY


@require_GET
def demo_shop(request: HttpRequest) -> HttpResponse:
    """云朵优选, a fictional shop; its only link to csbot is the embed snippet's script tag."""
    site = site_key_find(DEMO_SITE_KEY)
    widget_src = request.build_absolute_uri(static("widget/csbot-widget.js"))
    return render(request, "demo/shop.html", {"site": site, "widget_src": widget_src})
