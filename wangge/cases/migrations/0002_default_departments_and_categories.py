"""The departments and categories a district starts with (admin-editable afterwards)."""

from django.db import migrations

from wangge.cases.defaults import create_missing


def create(apps, schema_editor):
    create_missing(apps.get_model("cases", "Department"), apps.get_model("cases", "Category"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_categories_departments_cases_steps")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
