import json
import subprocess
import sys


def run(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wangge", *args],
        env={"PATH": "/usr/bin:/bin", "WANGGE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_operator_commands(tmp_path):
    result = run("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "serve", "import residents", "grids divide", "worker", "migrate"):
        assert command in result.stdout


def test_grids_divide_works_on_files_without_a_database(tmp_path):
    buildings = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [123.0 + 0.001 * (i % 5), 41.1 + 0.001 * (i // 5)]},
                "properties": {"id": f"b{i}", "households": 60, "community": "灵西"},
            }
            for i in range(20)
        ],
    }
    source = tmp_path / "in.geojson"
    source.write_text(json.dumps(buildings), encoding="utf-8")
    out = str(tmp_path / "out.geojson")
    result = run("grids", "divide", "--buildings", str(source), "--out", out, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["grids"] == 4 and summary["contiguous"] == 1.0
    assert not (tmp_path / "wangge.sqlite3").exists()


def test_a_bare_grids_command_shows_its_usage(tmp_path):
    result = run("grids", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "grids divide" in result.stderr
