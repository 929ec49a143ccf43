import pytest
from django.core.exceptions import ImproperlyConfigured

from wangge.core import env


def test_it_reads_booleans_strictly(monkeypatch):
    monkeypatch.setenv("DEBUG", "yes")
    assert env.boolean("DEBUG", default=False) is True
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.boolean("DEBUG", default=False)


def test_it_names_a_bad_database_url(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.database("DATABASE_URL", default_sqlite=tmp_path / "db.sqlite3")


def test_the_embedded_default_is_sqlite_in_wal_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = env.database("DATABASE_URL", default_sqlite=tmp_path / "db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


@pytest.mark.django_db
def test_it_checkpoints_the_sqlite_log_rarely_enough_to_stay_out_of_the_tail() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 10000


def test_it_generates_a_secret_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = env.secret_key(tmp_path)
    assert len(first) >= 40
    assert env.secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_it_refuses_a_short_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        env.secret_key(tmp_path)


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "key").write_text("k" * 40)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "key"))
    assert env.secret_key(tmp_path) == "k" * 40


def test_the_console_script_stops_with_the_variable_named(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "wangge", "check"],
        env={"PATH": "/usr/bin:/bin", "WANGGE_DATA_DIR": str(tmp_path), "DEBUG": "perhaps"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DEBUG" in result.stderr
