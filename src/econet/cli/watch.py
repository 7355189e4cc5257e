"""`econet watch`: organizations' watch lists (invasive and sensitive taxa, areas), running the alert rules,
reading alerts, and the SMTP server alerts are e-mailed through (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Format, OutputFormat, Quiet, apply
from econet.cli.registry import AsUser, _emit, _run

watch_app = typer.Typer(help="Watch lists and alerts: invasive and sensitive species, areas, e-mail.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(watch_app, name="watch")


@watch_app.command("list")
def list_(org: Annotated[Optional[str], typer.Option("--org", help="One organization.")] = None,
          as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
          debug: Debug = False) -> None:
    """Watch-list items (of every organization, or the user's)."""
    apply(quiet, debug)
    from econet.hub import alerts
    _emit(_run(db, as_user, lambda c, v: alerts.list_items(c, v, org)), fmt, "watch list")


@watch_app.command("add")
def add(org: Annotated[str, typer.Argument(help="Organization.")],
        kind: Annotated[str, typer.Argument(help="invasive | sensitive | area")],
        name: Annotated[str, typer.Argument(help="Scientific name, or the area's name (a PA's name for --area-kind pa).")],
        risk: Annotated[Optional[str], typer.Option("--risk", help="Invasive: risk category.")] = None,
        distance: Annotated[Optional[float], typer.Option("--distance", help="Invasive: alert within this many metres "
                                                          "of a watched area (default 5000); sensitive: radius that "
                                                          "makes a site new (default 1000).")] = None,
        area_kind: Annotated[Optional[str], typer.Option("--area-kind", help="pa | corridor | border")] = None,
        border: Annotated[Optional[str], typer.Option("--border", help="Border strip: two countries, e.g. CN-RU.")] = None,
        width: Annotated[Optional[float], typer.Option("--width", help="Border strip width (m).")] = None,
        file: Annotated[Optional[Path], typer.Option("--file", help="Area polygon: vector file (any CRS).")] = None,
        wkt: Annotated[Optional[str], typer.Option("--wkt", help="Area polygon as WKT (WGS84).")] = None,
        note: Annotated[Optional[str], typer.Option("--note")] = None,
        as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
        debug: Debug = False) -> None:
    """Add (or replace) an item of an organization's watch list."""
    apply(quiet, debug)
    from econet.hub import alerts
    _emit(_run(db, as_user, lambda c, v: alerts.add_item(
        c, v, org, kind, name, risk_category=risk, distance_m=distance, area_kind=area_kind, border=border,
        width_m=width, geometry=file or wkt, note=note), write=True), fmt, "watch list")


@watch_app.command("remove")
def remove(org: str, kind: str, name: str, as_user: AsUser = None, db: Db = None,
           fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Remove an item from an organization's watch list."""
    apply(quiet, debug)
    from econet.hub import alerts
    _emit(_run(db, as_user, lambda c, v: alerts.remove_item(c, v, org, kind, name), write=True), fmt, "watch list")


@watch_app.command("run")
def run(batch: Annotated[Optional[int], typer.Option("--batch", help="Only this import batch.")] = None,
        db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Run the rules now on every import (idempotent: nothing alerts twice), then e-mail new alerts."""
    apply(quiet, debug)
    from econet.hub import alerts
    from econet.hub.db import open_hub
    engine = open_hub(db)
    with engine.begin() as conn:
        new = alerts.run_batch(conn, batch) if batch is not None else alerts.run_all(conn)
    _emit({"new_alerts": len(new), **alerts.deliver(engine, new)}, fmt, "watch run")


@watch_app.command("alerts")
def show_alerts(user: Annotated[Optional[str], typer.Option("--user", help="The alerts this user gets (their "
                                                            "view); default: all, as the operator sees them.")] = None,
                org: Annotated[Optional[str], typer.Option("--org", help="One organization's alerts.")] = None,
                unread: Annotated[bool, typer.Option("--unread", help="Only unread ones.")] = False,
                rule: Annotated[Optional[str], typer.Option("--rule", help="invasive_near_area | sensitive_new_site | "
                                                            "border_crossing | import_failed")] = None,
                limit: Annotated[int, typer.Option("--limit")] = 50,
                summary: Annotated[bool, typer.Option("--summary", help="Counts per organization and rule.")] = False,
                db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Show alerts, each record as the reader may see it (generalized where they lack exact access)."""
    apply(quiet, debug)
    from econet.hub import alerts
    if summary:
        _emit(_run(db, None, lambda c, v: alerts.summary(c)), fmt, "alerts")
        return
    rows = _run(db, user, lambda c, v: alerts.list_alerts(c, v, unread=unread, rule=rule, limit=limit, organization=org))
    if fmt == OutputFormat.json:
        _emit(rows, fmt)
        return
    flat = [{"id": a["id"], "organization": a["organization"], "rule": a["rule"], "title": a["title"],
             "lon": (a.get("record") or {}).get("lon"), "lat": (a.get("record") or {}).get("lat"),
             "generalized": a.get("generalized"), "read": a["read"], "created_at": a["created_at"]} for a in rows]
    _emit(flat, fmt, "alerts")


@watch_app.command("read")
def read(user: Annotated[str, typer.Option("--user", help="Whose alerts.")],
         ids: Annotated[Optional[list[int]], typer.Argument(help="Alert ids (none: all).")] = None,
         db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Mark a user's alerts read."""
    apply(quiet, debug)
    from econet.hub import alerts
    _emit(_run(db, user, lambda c, v: alerts.mark_read(c, v, ids or None), write=True), fmt, "alerts")


@watch_app.command("smtp")
def smtp(host: Annotated[Optional[str], typer.Option("--host", help="SMTP server.")] = None,
         port: Annotated[int, typer.Option("--port")] = 25,
         sender: Annotated[str, typer.Option("--from", help="Sender address.")] = "econet@localhost",
         starttls: Annotated[bool, typer.Option("--starttls", help="Upgrade the connection with STARTTLS.")] = False,
         username: Annotated[Optional[str], typer.Option("--username", help="Log in as this user.")] = None,
         password_env: Annotated[str, typer.Option("--password-env", help="Environment variable holding the "
                                                   "password (never stored).")] = "ECONET_SMTP_PASSWORD",
         clear: Annotated[bool, typer.Option("--clear", help="Forget the SMTP settings (no e-mail).")] = False,
         db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Set (or show, without options) the SMTP server alerts are e-mailed through."""
    apply(quiet, debug)
    from econet.hub import notify
    from econet.hub.db import open_hub
    with open_hub(db).begin() as conn:
        if clear:
            notify.clear_smtp(conn)
            out = {"smtp": "not configured"}
        elif host:
            out = notify.set_smtp(conn, host=host, port=port, sender=sender, starttls=starttls, username=username,
                                  password_env=password_env)
        else:
            s = notify.get_smtp(conn)
            out = s.public() if s else {"smtp": "not configured"}
    _emit(out, fmt, "smtp")
