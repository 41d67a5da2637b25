"""``manage.py demo_setup`` loads a realistic shop and is idempotent."""
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from csbot.roles import AGENT_GROUP, MANAGER_GROUP
from knowledge.models import Category, Entry, SimilarQuestion, SynonymGroup
from nlp.models import Intent, IntentExample

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "entries": list(Entry.objects.order_by("pk").values_list("pk", "updated_at")),
        "similar": list(SimilarQuestion.objects.order_by("pk").values_list("pk", "text")),
        "categories": list(Category.objects.order_by("pk").values_list("pk", "updated_at")),
        "intents": list(Intent.objects.order_by("pk").values_list("pk", "updated_at")),
        "examples": IntentExample.objects.count(),
        "synonyms": list(SynonymGroup.objects.order_by("pk").values_list("pk", "updated_at")),
        "users": list(get_user_model().objects.order_by("pk").values_list("pk", "password", "last_login")),
    }


def test_demo_setup_loads_the_shop_and_a_second_run_changes_nothing():
    out = StringIO()
    call_command("demo_setup", stdout=out)
    text = out.getvalue()

    published = Entry.objects.filter(status="published").annotate(n=Count("similar_questions"))
    assert published.count() >= 150
    assert not published.filter(n__lt=3).exists()
    slugs = set(Category.objects.values_list("slug", flat=True))
    assert {"order", "shipping", "returns", "refund", "payment", "invoice", "account", "coupon", "membership", "after_sales", "product"} <= slugs
    assert SynonymGroup.objects.filter(is_product=True).count() >= 5
    assert {"greeting", "thanks", "goodbye", "human_request", "complaint"} <= set(Intent.objects.values_list("name", flat=True))
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="manager").groups.filter(name=MANAGER_GROUP).exists()
    assert users.get(username="agent").groups.filter(name=AGENT_GROUP).exists()
    # The printed passwords really log in.
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] in {"admin", "manager", "agent"}:
            assert users.get(username=parts[0]).check_password(parts[2])

    before = snapshot()
    out = StringIO()
    call_command("demo_setup", stdout=out)
    assert snapshot() == before
    assert "本次变更 0 条" in out.getvalue()


@pytest.mark.django_db
def test_demo_users_get_their_roles_even_after_the_groups_were_flushed():
    """The roles come from a data migration; after a ``flush`` (or a transactional test) they
    are gone, and ``demo_setup`` must recreate them rather than fail."""
    from django.contrib.auth.models import Group

    from csbot.demo import demo_users_ensure
    from csbot.roles import MANAGER_GROUP

    Group.objects.all().delete()
    demo_users_ensure()
    manager = Group.objects.get(name=MANAGER_GROUP)
    assert manager.permissions.filter(codename="change_entry").exists()
    assert manager.user_set.filter(username="manager").exists()
