"""`econet omniscape CONFIG.ini`: Omniscape moving-window connectivity from an unchanged Omniscape .ini,
run in tiles on dask.distributed (a local cluster by default, a scheduler address on a real cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Debug, Quiet


def omniscape_cmd(
        config: Annotated[Path, typer.Argument(help="Omniscape .ini file (used unchanged).", show_default=False)],
        scheduler: Annotated[Optional[str], typer.Option(
            "--scheduler", help="Address of a running dask scheduler (tcp://host:8786); default: a local cluster.",
            show_default=False)] = None,
        workers: Annotated[Optional[int], typer.Option(
            "--workers", help="Worker processes of the local cluster (default 1; 0 = no cluster, run here).",
            min=0, show_default=False)] = None,
        tile_size: Annotated[Optional[int], typer.Option(
            "--tile-size", help="Tile side in cells (default: max(2*(radius+buffer)+1, 64 blocks, 128)).",
            min=1, show_default=False)] = None,
        checkpoint_dir: Annotated[Optional[Path], typer.Option(
            "--checkpoint-dir", help="Folder for completed tiles (default .econet-omniscape/<project_name>); "
                                     "a restarted run skips the tiles found there.", show_default=False)] = None,
        keep_checkpoints: Annotated[bool, typer.Option(
            "--keep-checkpoints", help="Keep the tile checkpoints after a successful run.")] = False,
        quiet: Quiet = False, debug: Debug = False) -> None:
    """Run Omniscape and write cum_currmap, flow_potential, normalized_cum_currmap (and
    classified_resistance) into the project_name folder, as Omniscape.jl names them.

    Example: econet omniscape config.ini --workers 2
    """
    import warnings

    from econet.cli import options
    from econet.cli.console import progress, say
    from econet.connectivity.omniscape_ini import run_ini

    options.apply(quiet, debug)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress(f"omniscape {config.name}") as bar:
            summary = run_ini(config, scheduler=scheduler, workers=workers, tile_size=tile_size,
                              checkpoint_dir=checkpoint_dir, keep_checkpoints=keep_checkpoints, progress=bar)
    for w in summary.warnings:
        say(f"warning: {w}")
    skipped = f" ({summary.tiles_skipped} from checkpoints)" if summary.tiles_skipped else ""
    say(f"{summary.n_targets} targets in {summary.n_tiles} tiles{skipped}; outputs in {summary.project_dir}")
    for p in summary.outputs:
        say(f"  {p}")
    del caught


def register(app: typer.Typer) -> None:
    app.command("omniscape", short_help="Omnidirectional (moving-window) connectivity from an Omniscape .ini, tiled on Dask.")(omniscape_cmd)
