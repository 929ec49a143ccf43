"""Lighthouse (mobile) on the grid worker's worklist page and the visit form (issue 12).

    python bench/lighthouse.py --data-dir /var/tmp/wangge-bench-pages-520000-sqlite
    python bench/lighthouse.py --data-dir DIR --database-url postgres://postgres@127.0.0.1:5432/NAME

Serves an existing demo (``wangge demo`` wrote it, with its ``demo-accounts.txt``) with
``wangge serve`` (gunicorn) on a free loopback port, signs in the demo grid worker, and runs
Lighthouse's default mobile audit (Moto G Power emulation, simulated slow 4G, 4x CPU slowdown)
with Debian's Chromium on ``/worklist/`` and on the visit form of the first household the
worklist links to, in Chinese and in English. Prints the performance and accessibility scores,
the main timings and the bytes transferred, and every failed accessibility audit.

Lighthouse comes from the npm registry into ``--lighthouse-dir`` (default
``/var/tmp/wangge-lighthouse``) on the first run; nothing is installed into the project tree.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lighthouse@13.5.0"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)


def lighthouse(directory: Path) -> Path:
    binary = directory / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(directory), PACKAGE],
            check=True,
        )
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def password_of(data_dir: Path, username: str) -> str:
    for line in (data_dir / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0] == username:
            return parts[1]
    raise SystemExit(f"{username} is not in {data_dir / 'demo-accounts.txt'}")


def sign_in(base: str, username: str, password: str) -> tuple[str, urllib.request.OpenerDirector]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"})
    opener.open(request).read()
    cookies = {c.name: c.value for c in jar}
    assert "sessionid" in cookies, "signing in failed"
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), opener


def audit(binary: Path, url: str, headers: dict[str, str], workdir: Path) -> dict[str, object]:
    header_file = workdir / "headers.json"
    header_file.write_text(json.dumps(headers))
    output = workdir / "report.json"
    subprocess.run(
        [
            str(binary),
            url,
            "--quiet",
            "--chrome-path=/usr/bin/chromium",
            f"--chrome-flags={CHROME_FLAGS}",
            "--only-categories=performance,accessibility",
            f"--extra-headers={header_file}",
            "--output=json",
            f"--output-path={output}",
        ],
        check=True,
    )
    report = json.loads(output.read_text())
    audits = report["audits"]
    failed = [
        f"{ref['id']}: {audits[ref['id']]['title']}"
        for ref in report["categories"]["accessibility"]["auditRefs"]
        if ref["weight"] and audits[ref["id"]]["score"] is not None and audits[ref["id"]]["score"] < 1
    ]
    return {
        "performance": round(report["categories"]["performance"]["score"] * 100),
        "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "kb": round(audits["total-byte-weight"]["numericValue"] / 1024, 1),
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a demo's WANGGE_DATA_DIR")
    parser.add_argument("--database-url", default="", help="the demo's database, if not SQLite")
    parser.add_argument("--user", default="demo-grid")
    parser.add_argument("--lighthouse-dir", type=Path, default=Path("/var/tmp/wangge-lighthouse"))
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    binary = lighthouse(args.lighthouse_dir)
    env = dict(os.environ, WANGGE_DATA_DIR=str(args.data_dir))
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env.pop("DATABASE_URL", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "wangge", "serve", "--bind", f"127.0.0.1:{port}"], env=env, cwd=ROOT
    )
    workdir = Path(tempfile.mkdtemp(prefix="wangge-lighthouse-"))
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2).read()
                break
            except OSError:
                time.sleep(1)
        cookie, opener = sign_in(base, args.user, password_of(args.data_dir, args.user))
        worklist = opener.open(f"{base}/worklist/").read().decode()
        visit = re.search(r'href="(/worklist/households/\d+/visit/[^"]*)"', worklist)
        assert visit, "the worklist links to no visit form"
        pages = {"/worklist/": "/worklist/", "visit form": visit.group(1).replace("&amp;", "&")}
        header = ("page", "lang", "perf", "a11y", "FCP ms", "LCP ms", "TBT ms", "CLS", "KB")
        print("{:<12} {:<5} {:>4} {:>4} {:>7} {:>7} {:>7} {:>6} {:>6}".format(*header))
        for name, path in pages.items():
            for language in ("zh-hans", "en"):
                result = audit(binary, base + path, {"Cookie": f"{cookie}; django_language={language}"}, workdir)
                print(
                    f"{name:<12} {language:<5} {result['performance']:>4} {result['accessibility']:>4} "
                    f"{result['fcp_ms']:>7} {result['lcp_ms']:>7} {result['tbt_ms']:>7} {result['cls']:>6} "
                    f"{result['kb']:>6}",
                    flush=True,
                )
                for line in result["failed"]:  # type: ignore[attr-defined]
                    print(f"    accessibility audit not passed: {line}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
