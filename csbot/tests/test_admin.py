"""Every model is in the admin, and a manager can open what their role allows."""
import pytest
from django.contrib import admin
from django.urls import reverse

from conversations.models import Conversation, Feedback, Message, Visitor
from handoff.models import AgentProfile, CannedResponse, Escalation
from knowledge.models import Category, Entry, SimilarQuestion, SynonymGroup
from nlp.models import Intent, IntentExample, ModelVersion

FOUNDATION_MODELS = [
    Visitor, Conversation, Message, Feedback, Category, Entry, SimilarQuestion, SynonymGroup,
    Intent, IntentExample, ModelVersion, AgentProfile, Escalation, CannedResponse,
]


def admin_urls(model):
    meta = model._meta
    return (reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))


def test_every_foundation_model_is_registered():
    assert [m for m in FOUNDATION_MODELS if m not in admin.site._registry] == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_manager_opens_changelists_and_allowed_add_pages(manager_user, client, model):
    client.force_login(manager_user)
    changelist, add = admin_urls(model)
    meta = model._meta
    can_view = manager_user.has_perm(f"{meta.app_label}.view_{meta.model_name}") or manager_user.has_perm(f"{meta.app_label}.change_{meta.model_name}")
    can_add = manager_user.has_perm(f"{meta.app_label}.add_{meta.model_name}")
    assert client.get(changelist).status_code == (200 if can_view else 403)
    assert client.get(add).status_code == (200 if can_add else 403)


@pytest.mark.django_db
def test_manager_sees_chinese_admin_with_the_knowledge_base(manager_user, client):
    client.force_login(manager_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "知识库" in text and "FAQ 条目" in text and "csbot 智能客服" in text
