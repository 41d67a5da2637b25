"""Visitor-side handoff routes (leave a message, rate the service), included by ``csbot.urls``
under ``/api/v1/`` next to the chat API (namespace ``api:v1``)."""
from django.urls import path

from . import apis

urlpatterns = [
    path("sessions/<str:session_id>/left-message", apis.LeftMessageApi.as_view(), name="session-left-message"),
    path("sessions/<str:session_id>/csat", apis.CsatApi.as_view(), name="session-csat"),
]
