"""Demo staff accounts for ``demo_setup``: an admin, a manager and an agent with known passwords."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from csbot.roles import AGENT_GROUP, MANAGER_GROUP, roles_ensure


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    display_name: str
    group: str | None  # None: superuser
    is_agent: bool


DEMO_USERS = (
    DemoUser("admin", "csbot-admin-2026", "系统管理员", None, False),
    DemoUser("manager", "csbot-manager-2026", "王主管", MANAGER_GROUP, True),
    DemoUser("agent", "csbot-agent-2026", "小云", AGENT_GROUP, True),
)


@transaction.atomic
def demo_users_ensure() -> list[tuple[DemoUser, bool]]:
    """Create missing demo users (never resets an existing user's password); returns (user, created)."""
    from handoff.models import AgentProfile

    User = get_user_model()
    roles_ensure()  # a flushed database has lost the groups the data migration made
    results = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        created = user is None
        if created:
            user = User(username=demo.username, first_name=demo.display_name, is_staff=True, is_superuser=demo.group is None)
            user.set_password(demo.password)
            user.save()
        if demo.group:
            group = Group.objects.get(name=demo.group)
            if not user.groups.filter(pk=group.pk).exists():
                user.groups.add(group)
        if demo.is_agent and not AgentProfile.objects.filter(user=user).exists():
            AgentProfile.objects.create(user=user, display_name=demo.display_name)
        results.append((demo, created))
    return results
