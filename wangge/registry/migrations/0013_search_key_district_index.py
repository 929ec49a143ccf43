from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0012_search_key_without_constraint"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchkey",
            index=models.Index(fields=["district", "key"], name="search_key_district_idx"),
        ),
    ]
