"""`econet serve`: starts uvicorn with the app; a bad --demo-dir is a one-line error (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

ECONET = [sys.executable, "-m", "econet.cli.main"]


def test_serve_missing_demo_dir_is_one_line_error(tmp_path):
    r = subprocess.run(ECONET + ["serve", "--demo-dir", str(tmp_path / "absent")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert "demo output folder not found" in r.stderr and "Traceback" not in r.stderr


def test_serve_answers_health_and_layers(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(ECONET + ["serve", "--port", str(port), "--quiet"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                r = httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(proc.stderr.read1().decode() if proc.poll() is not None else "no answer")
        assert r.json()["status"] == "ok" and r.json()["demo_dir"] is False
        names = {l["name"] for l in httpx.get(f"{base}/api/v1/layers").json()["layers"]}
        assert {"countries", "border", "protected_areas"} <= names
        assert httpx.get(f"{base}/openapi.json").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _fake_demo(monkeypatch, served: list):
    """`econet demo` with the steps replaced by creating the demo's two accounts; run_server recorded."""
    import econet.cli.serve
    import econet.demo
    from econet.web.demo_logins import DEMO_USERS

    class Ctx:
        results: dict = {}
        files: list = []
        descriptions: dict = {}

    def run_demo(out_dir, db_url, quiet=False, on_step=None):
        from econet.hub import accounts
        from econet.hub.db import open_hub
        out_dir.mkdir(parents=True, exist_ok=True)
        with open_hub(db_url).begin() as conn:
            for name, (org, _) in DEMO_USERS.items():
                accounts.add_org(conn, org, country="RU")
                accounts.add_user(conn, name, None)
                accounts.set_role(conn, name, org, "viewer")
        return Ctx()

    monkeypatch.setattr(econet.demo, "run_demo", run_demo)
    monkeypatch.setattr(econet.cli.serve, "run_server", lambda *a, **kw: served.append((a, kw)))


def test_demo_serve_serves_the_demo_with_its_logins(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from econet.cli.main import app
    from econet.web.demo_logins import DEMO_PASSWORD
    served: list = []
    _fake_demo(monkeypatch, served)
    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out), "--serve", "--port", "8123", "-q"])
    assert r.exit_code == 0, r.output
    ((db_url, demo_dir, host, port), kw), = served
    assert db_url.endswith("econet-demo.db") and demo_dir == out and (host, port) == ("127.0.0.1", 8123)
    assert {l["username"] for l in kw["logins"]} == {"lotl-data-manager", "hunchun-analyst"}
    assert all(l["password"] == DEMO_PASSWORD for l in kw["logins"])


def test_plain_demo_does_not_serve(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from econet.cli.main import app
    served: list = []
    _fake_demo(monkeypatch, served)
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "-q"])
    assert r.exit_code == 0, r.output
    assert served == []
