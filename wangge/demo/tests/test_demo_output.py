"""What ``wangge demo`` prints and leaves behind: the accounts also in an owner-only file, and no
"start the server" hint when ``make demo`` is starting it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wangge.demo.accounts import DemoAccount
from wangge.demo.management.commands.demo import account_lines, closing_hint, write_accounts


def test_it_writes_the_accounts_to_a_file_only_its_owner_can_read(tmp_path: Path) -> None:
    old = tmp_path / "demo-accounts.txt"
    old.write_text("last run\n")
    old.chmod(0o644)  # left readable by an earlier tool: the write narrows it
    lines = account_lines(
        [
            DemoAccount("district_admin", "district_admin", "Pw3xkq9Lm2Rt7z", "立山区"),
            DemoAccount("gw", "grid_worker", "a1", ""),
        ]
    )
    path = write_accounts(lines, tmp_path)
    assert path == old
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "last run" not in text
    assert text.splitlines()[0].split() == ["district_admin", "Pw3xkq9Lm2Rt7z", "区级管理员", "立山区"]
    assert text.splitlines()[1].split()[:2] == ["gw", "a1"]


def test_it_does_not_tell_make_demo_to_start_the_server_it_is_starting() -> None:
    assert "wangge serve" not in closing_hint(serving=True)
    assert "http://127.0.0.1:8000/login/" in closing_hint(serving=True)
    assert "wangge serve" in closing_hint(serving=False)


def test_make_demo_passes_serving() -> None:
    makefile = (Path(__file__).resolve().parents[3] / "Makefile").read_text()
    assert "wangge demo --serving\n\t$(BIN)/wangge serve" in makefile
