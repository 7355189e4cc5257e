"""`econet serve`: starts uvicorn with the app; a bad --demo-dir is a one-line error (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

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
