"""Create the global match-threshold row managers edit, and grant the new models to the staff groups."""
from django.db import migrations

# Same values as knowledge.services.thresholds.DEFAULT_* at the time of writing (migrations
# must not import app code that may change later).
ANSWER = 0.5
SUGGEST = 0.2


def forwards(apps, schema_editor):
    MatchThreshold = apps.get_model("knowledge", "MatchThreshold")
    if not MatchThreshold.objects.filter(category__isnull=True).exists():
        MatchThreshold.objects.create(category=None, answer_threshold=ANSWER, suggest_threshold=SUGGEST)
    from csbot.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0002_revisions_thresholds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
