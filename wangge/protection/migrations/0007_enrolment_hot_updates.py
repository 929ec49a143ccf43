"""The people's table leaves 30 % of each page free on PostgreSQL, as the phones' table does.

Every stored fix now updates its person's zone state (``last_fix_at`` and the counters, none
indexed), besides the phone's row. On full pages those updates cannot be HOT: each writes a new
entry into every index of the table. fillfactor applies to pages written from now on; an
existing table gains it everywhere after ``VACUUM FULL`` (or pg_repack).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE protection_enrolment SET (fillfactor = 70)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE protection_enrolment RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("protection", "0006_notification_outbox_priority_and_lease")]

    operations = [migrations.RunPython(forwards, backwards)]
