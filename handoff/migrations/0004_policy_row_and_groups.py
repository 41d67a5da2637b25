"""Seed the escalation-policy row and grant the new handoff models to the staff groups."""
from django.db import migrations

from csbot.roles import sync_groups


def forwards(apps, schema_editor):
    apps.get_model("handoff", "EscalationPolicy").objects.get_or_create(pk=1)
    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("handoff", "0003_policy_hours_left_messages")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
