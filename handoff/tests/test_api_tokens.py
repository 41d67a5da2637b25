"""Integrations reach the agent API with a DRF token instead of a browser session."""
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("handoff.tests.urls")]


def test_a_token_authenticates_an_agent_and_a_bad_one_is_refused(make_agent):
    agent = make_agent("tokenagent")
    token = Token.objects.create(user=agent)
    client = APIClient()

    response = client.get(reverse("api:v1:agent:queue"), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content

    response = client.get(reverse("api:v1:agent:queue"), HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code in (401, 403)
    assert set(response.json()) >= {"code", "detail"}
    assert response.json()["code"] == "authentication_failed"


def test_a_visitor_without_credentials_gets_a_clear_error():
    response = APIClient().get(reverse("api:v1:agent:queue"))
    assert response.status_code in (401, 403)
    assert response.json()["code"] in {"not_authenticated", "permission_denied"}
