"""A room for every household already registered: same building, entrance and room number, in
use as a home, in the household's grid. Households created from now on get theirs from the
registry's actions and the import; this gives the building plan and rentals the rooms that
existed before rooms did.

Chunked by household id so a district (170,000 households) is not held in memory at once.
"""

from django.db import migrations

CHUNK = 2_000


def floor_of(number):
    # A copy of ``registry.models.floor_of`` as it was when this migration was written.
    text = number.strip().upper()
    basement = text.startswith(("B", "-", "负", "地下"))
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 3 or len(digits) > 5:
        return None
    floor = int(digits[:-2])
    if floor == 0:
        return None
    return -floor if basement else floor


def rooms_from_households(apps, schema_editor):
    Household = apps.get_model("registry", "Household")
    Room = apps.get_model("registry", "Room")
    last = 0
    while True:
        households = list(
            Household.objects.filter(pk__gt=last, dwelling__isnull=True)
            .order_by("pk")
            .values(
                "pk", "building_id", "entrance", "room", "grid_id", "community_id", "street_id", "district_id",
                "import_run_id",
            )[:CHUNK]
        )
        if not households:
            return
        last = households[-1]["pk"]
        rooms = Room.objects.bulk_create(
            [
                Room(
                    building_id=h["building_id"],
                    entrance=h["entrance"],
                    number=h["room"],
                    floor=floor_of(h["room"]),
                    use_id="residence",
                    grid_id=h["grid_id"],
                    community_id=h["community_id"],
                    street_id=h["street_id"],
                    district_id=h["district_id"],
                    import_run_id=h["import_run_id"],
                )
                for h in households
            ]
        )
        if any(room.pk is None for room in rooms):  # a backend that does not return ids
            keys = {(h["building_id"], h["entrance"], h["room"]) for h in households}
            ids = {
                (b, e, n): pk
                for pk, b, e, n in Room.objects.filter(building_id__in={k[0] for k in keys}).values_list(
                    "pk", "building_id", "entrance", "number"
                )
            }
            dwelling = [ids[(h["building_id"], h["entrance"], h["room"])] for h in households]
        else:
            dwelling = [room.pk for room in rooms]
        Household.objects.bulk_update(
            [Household(pk=h["pk"], dwelling_id=pk) for h, pk in zip(households, dwelling)], ["dwelling"], batch_size=500
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0009_rooms_and_rentals"),
    ]

    operations = [
        migrations.RunPython(rooms_from_households, migrations.RunPython.noop, elidable=True),
    ]
