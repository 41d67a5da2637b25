"""Seed one reply template per key with the Chinese defaults, and grant managers the new models."""
from django.db import migrations

from conversations.dialog.smalltalk import DEFAULT_TEMPLATES
from csbot.roles import sync_groups


def seed(apps, schema_editor):
    ReplyTemplate = apps.get_model("conversations", "ReplyTemplate")
    for key, text in DEFAULT_TEMPLATES.items():
        ReplyTemplate.objects.get_or_create(key=key, defaults={"text": text})
    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("handoff", "0002_staff_groups"),
        ("conversations", "0002_sites_tokens_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
