"""`econet demo`: build the demo border region, run every capability on it and say where each output went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from econet.cli.options import Db, Debug, Quiet

DEFAULT_OUT = Path("econet-demo")

DESCRIPTIONS = {
    "resistance.tif": "resistance surface (GeoTIFF, equal-area grid)",
    "landcover.tif": "MODIS IGBP land cover 2019 on the same grid",
    "elevation.tif": "ETOPO1 elevation (m) on the same grid",
    "protected_areas.gpkg": "protected-area footprints (approximate circles) with their facts",
    "pas_left_out.csv": "protected areas left out, with the reason",
    "current.tif": "cumulative current between all PA pairs (GeoTIFF)",
    "pa_resistances.csv": "effective resistance for every PA pair (transboundary flagged)",
    "connectivity_map.png": "map of the current with borders, rivers, lakes and PAs",
    "summary.json": "what each step did, in numbers",
}


HELP = ("Run the demo on a real border region (Ussuri / Lake Khanka / Tumen, China-Russia) and write every "
        "output.\n\n"
        "Builds a resistance surface from real land cover and elevation, puts approximate footprints on real "
        "protected areas on both sides of the border, runs circuit connectivity between them and writes "
        "GeoTIFFs (open in QGIS), a GeoPackage, CSV tables and a PNG map, then every later capability's "
        "outputs. Nothing is written if a step fails. The database defaults to an SQLite file in the "
        "output folder.")


def register(app: typer.Typer) -> None:
    @app.command("demo", help=HELP)
    def demo(
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo outputs.")] = DEFAULT_OUT,
        db: Db = None,
        serve: Annotated[bool, typer.Option(
            "--serve", help="After the demo, serve the atlas with the demo data loaded (hub database and "
                            "outputs) and print its address and the demo sign-ins.")] = False,
        host: Annotated[str, typer.Option("--host", help="With --serve: address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="With --serve: port to listen on.", min=0,
                                          max=65535)] = 8000,
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        """Run every demo step into OUT and list the files written."""
        import time

        from econet.cli import options
        from econet.cli.console import err, out as stdout, progress
        from econet.demo import run_demo, step_modules

        options.apply(quiet, debug)
        out_dir = out.expanduser()
        if out_dir.exists() and not out_dir.is_dir():
            from econet.errors import EconetError
            raise EconetError("exists and is not a folder; give --out a folder", path=out_dir)
        db_url = db or f"sqlite:///{(out_dir / 'econet-demo.db').resolve()}"
        t0 = time.perf_counter()
        n = len(step_modules())
        with progress("econet demo", total=n) as bar:
            def on_step(i: int, total: int, title: str) -> None:
                bar(i, total, title)
            ctx = run_demo(out_dir, db_url, quiet=options.State.quiet, on_step=on_step)
        seconds = time.perf_counter() - t0
        summary = ctx.results.get("summary", {})
        if not options.State.quiet:
            _print_summary(err, summary)
        stdout.print(f"econet demo wrote {len(ctx.files)} files to {out_dir.resolve()} in {seconds:.1f} s:")
        for f in ctx.files:
            what = ctx.descriptions.get(f) or DESCRIPTIONS.get(f.name, "")
            stdout.print(f"  {f}" + (f"  [dim]{what}[/dim]" if what else ""))
        if serve:
            from econet.cli.serve import run_server
            from econet.web.demo_logins import set_demo_passwords
            run_server(db_url, out_dir, host, port, logins=set_demo_passwords(db_url))


def _print_summary(console, summary: dict) -> None:
    """A few lines per step: the numbers a manager wants to see, and what was left out."""
    from rich.markup import escape
    region = summary.get("10_region", {})
    if region:
        console.print(f"[bold]{region.get('region', 'region')}[/bold]: grid {region.get('grid_shape')} "
                      f"of {region.get('cell_size_m', 0) / 1000:g} km cells, {region.get('valid_cells')} land cells")
        console.print(f"  {len(region.get('protected_areas', []))} protected areas "
                      f"{region.get('protected_areas_by_country', {})} (footprints: approximate circles of the "
                      "published area)")
        left = region.get("left_out", [])
        if left:
            console.print(f"  {len(left)} left out:")
            for line in left:
                console.print(f"    - {escape(str(line))}")
    circuit = summary.get("20_circuit", {})
    if circuit:
        console.print(f"[bold]Circuit connectivity[/bold]: {circuit.get('pairs')} pairs "
                      f"({circuit.get('transboundary_pairs')} transboundary), {circuit.get('linear_solves')} "
                      f"linear solves in {circuit.get('solve_seconds')} s")
        if circuit.get("best_connected_transboundary_pair"):
            console.print(f"  best-connected transboundary pair: {circuit['best_connected_transboundary_pair']}")
    for key, values in summary.items():
        if key in ("10_region", "20_circuit") or not isinstance(values, dict):
            continue
        console.print(f"[bold]{key.split('_', 1)[-1]}[/bold]: " + "; ".join(
            escape(f"{k} = {v}") for k, v in list(values.items())[:4] if not isinstance(v, (dict, list))))
