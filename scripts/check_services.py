"""Check that the services the tests need answer, and say clearly which one does not.

Usage: python scripts/check_services.py [postgres] [mqtt] [chromium]
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

CHECKS = {
    "postgres": (
        "127.0.0.1",
        5432,
        "PostgreSQL",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "mqtt": ("127.0.0.1", 1883, "Mosquitto (MQTT)", "mosquitto -d -c /etc/mosquitto/mosquitto.conf"),
}


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def main(names: list[str]) -> int:
    failed = False
    for name in names or [*CHECKS, "chromium"]:
        if name == "chromium":
            if not Path(os.environ.get("WANGGE_CHROMIUM", "/usr/bin/chromium")).exists():
                print("Chromium is missing: apt-get install chromium (browser tests need it)", file=sys.stderr)
                failed = True
            continue
        host, port, label, hint = CHECKS[name]
        if not answers(host, port):
            print(f"{label} does not answer on {host}:{port}. Start it, e.g.: {hint}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
