"""The demo shop's order-number pattern (YD + 14 digits), and manager permissions on entity patterns."""
from django.db import migrations

DEFAULT_PATTERN = r"YD\d{14}"


def forwards(apps, schema_editor):
    EntityPattern = apps.get_model("nlp", "EntityPattern")
    EntityPattern.objects.get_or_create(
        kind="order_number", pattern=DEFAULT_PATTERN,
        defaults={"name": "云朵优选订单号", "description": "YD 加 14 位数字，例如 YD20261108123456"},
    )
    from csbot.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("nlp", "0002_entitypattern"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
