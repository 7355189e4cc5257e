"""The econet command itself: help everywhere, one-line errors with exit code 2, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from econet.cli._click import click

from econet.cli.main import app, main
from econet.errors import EconetError


def _all_command_paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        paths.append(prefix + (name,))
        if hasattr(cmd, "list_commands"):
            paths.extend(_all_command_paths(cmd, prefix + (name,)))
    return paths


COMMANDS = _all_command_paths(typer.main.get_command(app))


def test_there_are_commands():
    assert COMMANDS, "no command registered"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "Usage" in out and path[-1] in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("econet ")


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_econet_error_is_one_line_without_traceback(monkeypatch, capsys):
    @app.command("raise-for-test", hidden=True)
    def _raise():
        raise EconetError("negative resistance", path="grid.asc", row=3, field="value")

    try:
        with pytest.raises(SystemExit) as exc:
            main(["raise-for-test"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.strip() == "error: grid.asc, row 3, field 'value': negative resistance"
        assert "Traceback" not in err
        with pytest.raises(EconetError):
            main(["--debug", "raise-for-test"])
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.name != "raise-for-test"]


def test_console_script_runs_in_a_fresh_process():
    proc = subprocess.run([sys.executable, "-m", "econet.cli.main", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "econet" in proc.stdout


def test_failing_command_leaves_only_the_error_line_on_stderr(tmp_path, monkeypatch, capsys):
    """A command that fails inside its progress bar erases the bar: stderr holds the error line alone."""
    bad = tmp_path / "bad.ini"
    bad.write_text("[Calculation options]\nscenario = pairwise\n[Habitat raster or graph]\n"
                   "habitat_file = nope.asc\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["circuit", "run", str(bad)])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"error: {bad}, field 'output_file': no output_file given"]
    assert captured.out == ""

    @app.command("fail-mid-run-for-test", hidden=True)
    def _fail_mid_run():
        from econet.cli.console import progress
        with progress("working", total=10) as bar:
            for i in range(4):
                bar(i + 1)
            raise EconetError("tile 5 has no valid cells", path="grid.tif")

    try:
        with pytest.raises(SystemExit) as exc:
            main(["fail-mid-run-for-test"])
        assert exc.value.code == 2
        assert capsys.readouterr().err == "error: grid.tif: tile 5 has no valid cells\n"
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.name != "fail-mid-run-for-test"]
