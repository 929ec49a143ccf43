from django.db import migrations

CATEGORIES = [
    ("elderly_alone", "独居老人", "Elderly living alone", "独居,孤寡老人"),
    ("empty_nest", "空巢老人", "Empty-nest elderly", "空巢"),
    ("dementia", "失智老人", "Dementia", "认知障碍,老年痴呆,失智"),
    ("disability", "残疾人", "Disability", "残疾"),
    ("minimum_income", "低保", "Minimum-income support", "低保户,最低生活保障"),
    ("extreme_poverty", "特困人员", "Extreme poverty support", "特困,五保"),
    ("released_prisoner", "安置帮教", "Released prisoner (resettlement)", "刑满释放,刑释人员"),
    ("veteran", "优抚对象", "Entitled groups (veterans)", "退役军人,优抚"),
    ("left_behind_child", "留守儿童", "Left-behind child", "留守"),
    ("serious_illness", "重病患者", "Serious illness", "大病,重病"),
]


def seed(apps, schema_editor):
    CareCategory = apps.get_model("registry", "CareCategory")
    for code, name, name_en, aliases in CATEGORIES:
        CareCategory.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en, "aliases": aliases})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
