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
def test_manager_opens_changelists_and_allowed_add_pages(manager_user, client, rf, model):
    """200 wherever the manager's role (and the ModelAdmin, e.g. a singleton) allows, 403 elsewhere."""
    client.force_login(manager_user)
    changelist, add = admin_urls(model)
    request = rf.get(add)
    request.user = manager_user
    model_admin = admin.site._registry[model]
    can_view = model_admin.has_view_or_change_permission(request)
    can_add = model_admin.has_add_permission(request)
    assert client.get(changelist).status_code in ((200, 302) if can_view else (403,))
    assert client.get(add).status_code == (200 if can_add else 403)


@pytest.mark.django_db
def test_manager_sees_chinese_admin_with_the_knowledge_base(manager_user, client):
    client.force_login(manager_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "知识库" in text and "FAQ 条目" in text and "csbot 智能客服" in text
