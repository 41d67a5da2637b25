"""Project-wide fixtures: staff users in each role."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from csbot.roles import AGENT_GROUP, MANAGER_GROUP


@pytest.fixture
def manager_user(db):
    user = get_user_model().objects.create_user("mgr", password="pw-manager-1", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER_GROUP))
    return user


@pytest.fixture
def agent_user(db):
    user = get_user_model().objects.create_user("agt", password="pw-agent-1", is_staff=True)
    user.groups.add(Group.objects.get(name=AGENT_GROUP))
    return user


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client
