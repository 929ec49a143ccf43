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


def test_it_refuses_a_certificate_file_it_cannot_read(monkeypatch, tmp_path):
    monkeypatch.setenv("MQTT_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ImproperlyConfigured, match="MQTT_CA_FILE"):
        env.existing_file("MQTT_CA_FILE")
    (tmp_path / "ca.pem").write_text("x")
    monkeypatch.setenv("MQTT_CA_FILE", str(tmp_path / "ca.pem"))
    assert env.existing_file("MQTT_CA_FILE") == (tmp_path / "ca.pem").resolve()
    monkeypatch.delenv("MQTT_CA_FILE")
    assert env.existing_file("MQTT_CA_FILE") is None


def test_a_file_wangge_writes_needs_an_existing_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("MQTT_BROKER_PASSWORD_FILE", str(tmp_path / "nowhere" / "passwd"))
    with pytest.raises(ImproperlyConfigured, match="MQTT_BROKER_PASSWORD_FILE"):
        env.file_to_write("MQTT_BROKER_PASSWORD_FILE")
    monkeypatch.setenv("MQTT_BROKER_PASSWORD_FILE", str(tmp_path / "passwd"))
    assert env.file_to_write("MQTT_BROKER_PASSWORD_FILE") == (tmp_path / "passwd").resolve()


def test_it_reads_mail_settings_from_one_url(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://alerts%40example.cn:s3cr%2Ft@mail.example.cn")
    config = env.email("EMAIL_URL")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("mail.example.cn", 587)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("alerts@example.cn", "s3cr/t")
    assert (config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (True, False)
    monkeypatch.setenv("EMAIL_URL", "smtps://mail.example.cn")
    assert (env.email("EMAIL_URL")["EMAIL_PORT"], env.email("EMAIL_URL")["EMAIL_USE_SSL"]) == (465, True)


def test_it_refuses_a_mail_url_it_cannot_use(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "imap://mail.example.cn")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env.email("EMAIL_URL")
    monkeypatch.setenv("EMAIL_URL", "smtp://:25")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env.email("EMAIL_URL")


def test_it_reads_mail_settings_from_separate_variables(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    monkeypatch.setenv("EMAIL_HOST", "10.0.0.25")
    monkeypatch.setenv("EMAIL_USE_SSL", "true")
    monkeypatch.setenv("EMAIL_HOST_PASSWORD_FILE", "/nonexistent/password")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_HOST_PASSWORD_FILE"):
        env.email("EMAIL_URL")
    monkeypatch.delenv("EMAIL_HOST_PASSWORD_FILE")
    config = env.email("EMAIL_URL")
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_USE_SSL"]) == ("10.0.0.25", 465, True)
    monkeypatch.setenv("EMAIL_USE_TLS", "true")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_USE_TLS"):
        env.email("EMAIL_URL")


def test_it_sends_mail_to_the_console_when_nothing_is_configured(monkeypatch):
    for name in ("EMAIL_URL", "EMAIL_HOST", "EMAIL_BACKEND", "EMAIL_USE_TLS", "EMAIL_USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    assert env.email("EMAIL_URL")["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_it_refuses_a_trusted_proxy_that_is_not_an_address(monkeypatch):
    monkeypatch.setenv("WANGGE_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8, nginx")
    with pytest.raises(ImproperlyConfigured, match="WANGGE_TRUSTED_PROXIES"):
        env.networks("WANGGE_TRUSTED_PROXIES", default=[])
    monkeypatch.setenv("WANGGE_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert env.networks("WANGGE_TRUSTED_PROXIES", default=[]) == ["127.0.0.1", "10.0.0.0/8"]
