"""``wangge grids divide`` end to end on files, and its input validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wangge.areas.gridding.cli import main
from wangge.areas.gridding.synthetic import generate_district, perturb


def _fc(buildings) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                "properties": {
                    "id": b.id,
                    "households": b.households,
                    "community": b.community,
                    "entrances": b.entrances,
                    "name": f"楼 {b.id}",
                },
            }
            for b in buildings
        ],
    }


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _summary(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_cli_divides_and_rebalances_files(tmp_path, capsys):
    bs = generate_district(8_000, seed=4)
    src = _write(tmp_path / "in.geojson", _fc(bs))
    out = tmp_path / "out.geojson"
    assert main(["divide", "--buildings", str(src), "--target", "300", "--out", str(out), "--polygons"]) == 0
    s = _summary(capsys.readouterr().out)
    for key in ("grids", "households", "min", "max", "within_tolerance", "contiguous", "split_buildings", "seconds"):
        assert key in s
    assert s["households"] == sum(b.households for b in bs)
    assert s["contiguous"] == 1.0
    doc = json.loads(out.read_text(encoding="utf-8"))
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    grids = [f for f in doc["features"] if f["properties"].get("kind") == "grid"]
    assert len(points) == len(bs)
    assert len(grids) == s["grids"]
    assert points[0]["properties"]["name"] == f"楼 {bs[0].id}"
    for f in points:
        assert sum(h for _, h in f["properties"]["assignment"]) == f["properties"]["households"]
    assert {g["properties"]["grid_id"] for g in grids} == {
        gid for f in points for gid, _ in f["properties"]["assignment"]
    }

    changed = _write(tmp_path / "in2.geojson", _fc(perturb(bs, 0.05, seed=9)))
    out2 = tmp_path / "out2.geojson"
    args = ["--buildings", str(changed), "--existing", str(out), "--out", str(out2)]
    assert main(args) == 0
    s2 = _summary(capsys.readouterr().out)
    assert s2["moved_households"] < 0.1 * s2["households"]
    assert s2["within_tolerance"] >= 0.95


def test_module_entry_point_runs(tmp_path):
    src = _write(tmp_path / "in.geojson", _fc(generate_district(1_000, seed=1)))
    out = tmp_path / "out.geojson"
    cmd = [sys.executable, "-m", "wangge.areas.gridding", "divide", "--buildings", str(src), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _summary(proc.stdout)["grids"] >= 1
    assert "django" not in proc.stderr.lower()


def _pt(fid, households=50, coords=(116.4, 39.9), **props):
    p = {"id": fid, "households": households, **props}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(coords)}, "properties": p}


GOOD = _pt("a")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json at all", "not valid JSON"),
        ({"type": "Feature"}, "FeatureCollection"),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    GOOD,
                    {
                        "type": "Feature",
                        "properties": {"id": "x"},
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                    },
                ],
            },
            "feature #1 (id 'x')",
        ),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", households=None)]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", households=-3)]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", households=2.5)]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", households="12")]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("a")]}, "feature #1 (id 'a'): duplicate"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", coords=(200, 39.9))]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", coords=(116.4, 95))]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt("b", entrances=0)]}, "feature #1 (id 'b')"),
        ({"type": "FeatureCollection", "features": [GOOD, _pt(None)]}, "feature #1"),
    ],
)
def test_malformed_input_exits_2_naming_the_feature(tmp_path, capsys, doc, message):
    path = tmp_path / "bad.geojson"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    code = main(["divide", "--buildings", str(path), "--out", str(tmp_path / "o.geojson")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert not (tmp_path / "o.geojson").exists()


def test_missing_files_exit_2(tmp_path, capsys):
    assert main(["--buildings", str(tmp_path / "none.geojson"), "--out", str(tmp_path / "o.geojson")]) == 2
    assert "not found" in capsys.readouterr().err
    src = _write(tmp_path / "in.geojson", {"type": "FeatureCollection", "features": [GOOD]})
    args = ["--buildings", str(src), "--existing", str(tmp_path / "prev.geojson"), "--out", str(tmp_path / "o")]
    assert main(args) == 2


def test_integer_ids_are_accepted_as_strings(tmp_path, capsys):
    doc = {"type": "FeatureCollection", "features": [_pt(1), _pt(2, coords=(116.401, 39.9))]}
    src = _write(tmp_path / "in.geojson", doc)
    assert main(["--buildings", str(src), "--out", str(tmp_path / "o.geojson")]) == 0
    out = json.loads((tmp_path / "o.geojson").read_text())
    assert [f["properties"]["assignment"][0][0] for f in out["features"]] == ["G01", "G01"]
