"""Create the 客服坐席 (agent) and 客服主管 (manager) groups with their permissions."""
from django.db import migrations

from csbot.roles import AGENT_GROUP, MANAGER_GROUP, sync_groups


def create_groups(apps, schema_editor):
    sync_groups(apps)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[AGENT_GROUP, MANAGER_GROUP]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("handoff", "0001_initial"),
        ("conversations", "0001_initial"),
        ("knowledge", "0001_initial"),
        ("nlp", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
