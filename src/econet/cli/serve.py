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
        workers: Annotated[int, typer.Option(
            "--workers", min=1, max=64, help="Server processes (default 1; about one per core for a busy hub).")] = 1,
        quiet: Quiet = False,
        debug: Debug = False,
    ) -> None:
        """Serve the web atlas at / and the REST API at /api/v1 (OpenAPI at /openapi.json, docs at /docs)."""
        from econet.cli import options

        options.apply(quiet, debug)
        if demo_dir is None and (Path("econet-demo") / "summary.json").is_file():
            demo_dir = Path("econet-demo")
        run_server(db or options.default_db(), demo_dir, host, port, workers=workers)


def run_server(db_url: str, demo_dir: Path | None, host: str, port: int, logins: list[dict] | None = None,
               workers: int = 1) -> None:
    """Serve the app with uvicorn; say where (and, for the demo, how to sign in) unless --quiet."""
    import uvicorn

    from econet.api.app import create_app
    from econet.cli import options
    from econet.cli.console import err, out
    from econet.web import atlas_built

    app_ = create_app(db_url=db_url, demo_dir=demo_dir)
    if not options.State.quiet or logins:
        out.print(f"econet atlas at http://{host}:{port}/ (API docs at /docs)"
                  + (f", demo layers from {demo_dir}" if demo_dir else ""))
        for login in logins or []:
            out.print(f"  sign in as [bold]{login['username']}[/bold] / password [bold]{login['password']}[/bold]: "
                      f"{login['organization']}, {login['role']}")
        if not atlas_built():
            err.print("note: the atlas assets are not built; run `make web` (needs npm). The API works.")
    level = "warning" if options.State.quiet else "info"
    if workers > 1:  # worker processes build the same app from the environment (econet.api.app.app_from_env)
        import os
        os.environ["ECONET_DB"] = db_url
        if demo_dir is not None:
            os.environ["ECONET_DEMO_DIR"] = str(demo_dir)
        uvicorn.run("econet.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=level, backlog=2048)
        return
    uvicorn.run(app_, host=host, port=port, log_level=level)
