"""``wangge serve``: migrate, collect static files, then serve with gunicorn (Django's own
server where gunicorn is not available, e.g. on Windows)."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

DEFAULT_BIND = "127.0.0.1:8000"


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT``, ``:PORT`` or ``PORT`` → (host, port)."""
    text = value.strip()
    host, port_text = "127.0.0.1", text
    if text.startswith("["):
        closing = text.find("]")
        if closing < 0 or not text[closing + 1 :].startswith(":"):
            raise CommandError(
                _("--bind 应为 主机:端口，例如 127.0.0.1:8000 或 [::1]:8000，而不是 %(v)s") % {"v": value}
            )
        host, port_text = text[1:closing], text[closing + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise CommandError(_("--bind 中的 IPv6 地址无效：%(v)s") % {"v": host}) from None
    elif ":" in text:
        host, port_text = text.rsplit(":", 1)
        host = host or "0.0.0.0"
    if not host:
        raise CommandError(_("--bind 缺少主机：%(v)s") % {"v": value})
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CommandError(_("--bind 中的端口应为 1–65535 的数字，而不是 %(v)s") % {"v": port_text})
    return host, int(port_text)


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


class Command(BaseCommand):
    help = _("迁移数据库、收集静态文件，然后用 gunicorn 提供服务（没有 gunicorn 时用 Django 自带的服务器）")
    requires_system_checks: list[str] = []  # checks run in migrate; no need to run them twice

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=DEFAULT_BIND, help=_("监听地址 主机:端口（默认 %(default)s）"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "2")),
            help=_("gunicorn 工作进程数（默认 2，或环境变量 WEB_CONCURRENCY）"),
        )
        parser.add_argument("--threads", type=int, default=4, help=_("每个工作进程的线程数（默认 %(default)s）"))
        parser.add_argument("--no-migrate", action="store_true", help=_("不运行数据库迁移"))
        parser.add_argument("--runserver", action="store_true", help=_("使用 Django 自带的开发服务器而不是 gunicorn"))

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_bind(options["bind"])
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError(_("--workers 和 --threads 至少为 1"))
        if not options["no_migrate"]:
            self.stdout.write(_("正在迁移数据库……"))
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        url = url_for(host, port)
        self.stdout.write(self.style.SUCCESS(_("Wangge 已启动：%(url)s （按 Ctrl+C 停止）") % {"url": url}))
        if host in ("0.0.0.0", "::"):
            self.stdout.write(_("注意：监听所有地址时，请在环境变量 ALLOWED_HOSTS 中列出访问用的主机名。"))
        self.stdout.flush()
        if not options["runserver"]:
            try:
                application_class = gunicorn_application()
            except ImportError:
                self.stdout.write(_("未安装 gunicorn，改用 Django 自带的服务器。"))
            else:
                bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                application_class(
                    gunicorn_options(bind=bind, workers=options["workers"], threads=options["threads"])
                ).run()
                return
        addrport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        call_command("runserver", addrport, use_reloader=False, skip_checks=True)


def gunicorn_options(*, bind: str, workers: int, threads: int) -> dict[str, Any]:
    from wangge.core.gunicorn_logging import logger_class

    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "accesslog": "-",
        "errorlog": "-",
        "timeout": 60,
        # Redacts location query strings and search terms; time and level on every line.
        "logger_class": logger_class(settings.WANGGE_LOG_FORMAT),
        # X-Forwarded-Proto and friends are believed from these proxies only (none by default).
        "forwarded_allow_ips": ",".join(settings.WANGGE_TRUSTED_PROXIES) or "",
        # gunicorn's default umask is 0; files it creates must stay owner-only like the data dir.
        "umask": 0o077,
        # gunicorn ≥ 23 opens a control socket, by default one per user: keep it
        # with the data so two instances on one machine do not collide.
        "control_socket": str(settings.DATA_DIR / "gunicorn.ctl"),
    }


def gunicorn_application() -> type:
    """A gunicorn application serving ``wangge.wsgi`` with options given in Python, not argv."""
    from gunicorn.app.base import BaseApplication

    class WanggeApplication(BaseApplication):  # type: ignore[misc]
        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options
            super().__init__()

        def init(self, parser: Any, opts: Any, args: Any) -> None:  # pragma: no cover - argv unused
            return None

        def load_config(self) -> None:
            for key, value in self.options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from wangge.wsgi import application

            return application

    return WanggeApplication
