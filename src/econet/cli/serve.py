"""`econet serve`: the web atlas and REST API (FastAPI app run by uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Quiet


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)] = 8000,
        db: Db = None,
        demo_dir: Annotated[Optional[Path], typer.Option(
            "--demo-dir", help="An `econet demo` output folder whose layers the atlas shows "
                               "(default: ./econet-demo when it holds a demo run).")] = None,
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        """Serve the web atlas at / and the REST API at /api/v1 (OpenAPI at /openapi.json, docs at /docs)."""
        import uvicorn

        from econet.api.app import create_app
        from econet.cli import options
        from econet.cli.console import err
        from econet.web import atlas_built

        options.apply(quiet, debug)
        if demo_dir is None and (Path("econet-demo") / "summary.json").is_file():
            demo_dir = Path("econet-demo")
        app_ = create_app(db_url=db or options.default_db(), demo_dir=demo_dir)
        if not options.State.quiet:
            err.print(f"econet atlas at http://{host}:{port}/ (API docs at /docs)"
                      + (f", demo layers from {demo_dir}" if demo_dir else ""))
            if not atlas_built():
                err.print("note: the atlas assets are not built; run `make web` (needs npm). The API works.")
        uvicorn.run(app_, host=host, port=port, log_level="warning" if options.State.quiet else "info")
