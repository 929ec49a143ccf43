from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0011_resident_export_order_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchkey",
            index=models.Index(fields=["district", "key"], name="search_key_district_idx"),
        ),
    ]
