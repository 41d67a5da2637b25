"""Agent API routes, included by ``csbot.urls`` under ``/api/v1/agent/`` (namespace ``api:v1:agent``)."""
from django.urls import path

from . import apis

app_name = "agent"

urlpatterns = [
    path("queue", apis.QueueApi.as_view(), name="queue"),
    path("presence", apis.PresenceApi.as_view(), name="presence"),
    path("agents", apis.AgentsApi.as_view(), name="agents"),
    path("canned-responses", apis.CannedResponsesApi.as_view(), name="canned-responses"),
    path("conversations", apis.ChatsApi.as_view(), name="chats"),
    path("conversations/<str:conversation_id>", apis.TranscriptApi.as_view(), name="transcript"),
    path("conversations/<str:conversation_id>/accept", apis.AcceptApi.as_view(), name="accept"),
    path("conversations/<str:conversation_id>/messages", apis.SendApi.as_view(), name="send"),
    path("conversations/<str:conversation_id>/notes", apis.NoteApi.as_view(), name="note"),
    path("conversations/<str:conversation_id>/transfer", apis.TransferApi.as_view(), name="transfer"),
    path("conversations/<str:conversation_id>/return-to-bot", apis.ReturnToBotApi.as_view(), name="return-to-bot"),
    path("conversations/<str:conversation_id>/close", apis.CloseApi.as_view(), name="close"),
    path("conversations/<str:conversation_id>/read", apis.ReadApi.as_view(), name="read"),
    path("conversations/<str:conversation_id>/suggestions", apis.SuggestionsApi.as_view(), name="suggestions"),
]
