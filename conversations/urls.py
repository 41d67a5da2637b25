"""Visitor API routes, included by ``csbot.urls`` under ``/api/v1/`` (namespace ``api:v1``)."""
from django.urls import path

from . import apis

urlpatterns = [
    path("chat", apis.ChatTurnApi.as_view(), name="chat"),
    path("sessions/<str:session_id>/history", apis.SessionHistoryApi.as_view(), name="session-history"),
    path("messages/<str:message_id>/feedback", apis.MessageFeedbackApi.as_view(), name="message-feedback"),
    path("sites/<str:site_key>/widget", apis.WidgetConfigApi.as_view(), name="widget-config"),
]
