"""`econet circuit`: circuit-theory connectivity that reads Circuitscape .ini files unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Debug, Quiet

circuit_app = typer.Typer(help="Circuit-theory connectivity (Circuitscape-compatible).", no_args_is_help=True)


@circuit_app.command("run")
def run(config: Annotated[Path, typer.Argument(help="Circuitscape .ini file (used unchanged).",
                                                show_default=False)],
        solver: Annotated[Optional[str], typer.Option(
            "--solver", help="Override the .ini solver: cg+amg, cholmod (direct; SuperLU when scikit-sparse "
                             "is absent), splu, or auto (direct for small components, AMG-CG for large).")] = None,
        quiet: Quiet = False, debug: Debug = False) -> None:
    """Run a Circuitscape job and write the files Circuitscape writes (paths resolved from the working folder).

    Example: econet circuit run landscape.ini
    """
    from econet.cli import options
    from econet.cli.console import progress, say
    from econet.connectivity.circuit_run import run_ini

    options.apply(quiet, debug)
    with progress(f"circuit {config.name}") as bar:
        summary = run_ini(config, solver=solver, progress=bar)
    say(f"{summary.scenario}: {summary.n_solves} linear solves; wrote {len(summary.outputs)} files")
    for p in summary.outputs:
        say(f"  {p}")


def register(app: typer.Typer) -> None:
    app.add_typer(circuit_app, name="circuit")
