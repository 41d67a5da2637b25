"""The two staff roles and what each may do; used by the data migration and ``demo_setup``.

Agents work conversations and read the knowledge base; managers curate everything the
bot and agents use. Superusers (admins) keep everything else (users, groups).
"""
from __future__ import annotations

AGENT_GROUP = "客服坐席"
MANAGER_GROUP = "客服主管"

# app_label -> model -> actions
AGENT_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "conversations": {
        "visitor": ("view",),
        "conversation": ("view", "change"),
        "message": ("view",),
        "feedback": ("view",),
    },
    "knowledge": {"category": ("view",), "entry": ("view",), "similarquestion": ("view",), "synonymgroup": ("view",)},
    "handoff": {
        "agentprofile": ("view",),
        "escalation": ("view", "change"),
        "cannedresponse": ("view",),
        "leftmessage": ("view", "change"),
        "businesshours": ("view",),
    },
    "nlp": {"intent": ("view",)},
}

_ALL = ("add", "change", "delete", "view")
MANAGER_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "conversations": {
        "visitor": ("view", "change"),
        "conversation": ("view", "change"),
        "message": ("view",),
        "feedback": ("view",),
        "sitekey": _ALL,
        "replytemplate": ("view", "change"),
    },
    "knowledge": {
        "category": _ALL,
        "entry": _ALL,
        "similarquestion": _ALL,
        "synonymgroup": _ALL,
        "revision": ("view",),
        "matchthreshold": _ALL,
    },
    "handoff": {
        "agentprofile": _ALL,
        "escalation": ("view", "change"),
        "cannedresponse": _ALL,
        "escalationpolicy": ("view", "change"),
        "businesshours": _ALL,
        "leftmessage": ("view", "change", "delete"),
    },
    "nlp": {"intent": _ALL, "intentexample": _ALL, "modelversion": ("view", "change"), "entitypattern": _ALL},
    "auth": {"user": ("view",)},
}


# Permissions that are no model's add/change/delete/view: ``(app_label, codename)`` per group.
# The managers' dashboard (the admin index with analytics) is one: agents do not see it.
DASHBOARD_PERMISSION = "conversations.view_dashboard"
EXTRA_PERMISSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    AGENT_GROUP: (),
    MANAGER_GROUP: (("conversations", "view_dashboard"),),
}


def codenames(spec: dict[str, dict[str, tuple[str, ...]]]) -> list[tuple[str, str]]:
    """``[(app_label, codename), ...]`` for a permission spec."""
    return [(app, f"{action}_{model}") for app, models in spec.items() for model, actions in models.items() for action in actions]


def sync_groups(apps) -> None:  # noqa: ANN001 - a migration's historical app registry
    """Create both groups and grant the permissions above; safe to run again.

    Data migrations call this (a new model's migration calls it again after adding the model
    to the specs). Permissions normally appear only after ``migrate`` (post_migrate), so they
    are created here first.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, spec in ((AGENT_GROUP, AGENT_PERMISSIONS), (MANAGER_GROUP, MANAGER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app, codename in [*codenames(spec), *EXTRA_PERMISSIONS[name]]:
            permission = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
            if permission is not None:  # a model added by a later migration is granted by that migration
                group.permissions.add(permission)


def roles_ensure() -> None:
    """Make sure both staff groups exist with their permissions (idempotent).

    The data migrations create them; a database flushed since (``manage.py flush``, a
    transactional test) has lost them, and ``demo_setup`` or a test fixture calls this first.
    """
    from django.apps import apps
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=(AGENT_GROUP, MANAGER_GROUP)).count() < 2:
        sync_groups(apps)
