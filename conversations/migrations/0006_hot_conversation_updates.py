"""Bot turns update the conversation row in place (HOT) on PostgreSQL.

Every bot turn updates ``last_seq``, ``last_activity_at``, ``updated_at`` and ``context``.
While ``last_activity_at`` was indexed, each update wrote a new entry in all eight indexes
and left a dead row version that only VACUUM removes: under 200 paced visitors the table and
its indexes grew by one row version per turn and the turn's reads slowed down as the run went
on (bench/results/chat.md, session 9). Without an index on a column the turn writes, and with
room left on each page (fillfactor 70), PostgreSQL makes the update a heap-only tuple: no index
entry, and old versions are pruned by normal page access.
"""
from django.conf import settings
from django.db import migrations, models

FILLFACTOR = 70


def _fillfactor(apps, schema_editor, value: int | None) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no such storage parameter
    table = schema_editor.quote_name(apps.get_model("conversations", "Conversation")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})" if value else f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0005_leaner_hot_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="conversation",
            name="conv_status_activity_idx",
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["status"], name="conv_status_idx"),
        ),
        migrations.RunPython(lambda apps, se: _fillfactor(apps, se, FILLFACTOR), lambda apps, se: _fillfactor(apps, se, None)),
    ]
