"""`econet registry`: the cooperation registry - agreements, joint projects, activities, their links to
protected areas, datasets and analysis jobs, fields of cooperation per PA pair; import and export (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Format, OutputFormat, Quiet, apply

registry_app = typer.Typer(help="Cooperation registry: agreements, joint projects, activities, fields of cooperation.",
                           no_args_is_help=True)

AsUser = Annotated[Optional[str], typer.Option("--as-user", help="Act as this user (their permissions and view); "
                                                                 "default: the hub operator (admin).")]


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")


def _run(db, as_user, work, *, write: bool = False):
    """Open the hub, build the caller's view, run work(conn, view) in one transaction."""
    from econet.hub.db import open_hub
    from econet.hub.sharing import View
    engine = open_hub(db)
    with (engine.begin() if write else engine.connect()) as conn:
        view = View.for_user(conn, as_user) if as_user else View.admin("cli")
        return work(conn, view)


def _emit(data, fmt, title=None):
    from econet.cli.console import emit
    if fmt != OutputFormat.json and isinstance(data, dict):
        data = {k: (", ".join(map(str, v)) if isinstance(v, list) and all(not isinstance(x, dict) for x in v) else v)
                for k, v in data.items()}
    emit(data, fmt, title=title)


def _sources(values: list[str] | None) -> list[dict]:
    from econet.hub.registry import parse_source
    return [parse_source(s) for s in values or []]


def _details(values: list[str] | None) -> dict:
    from econet.errors import EconetError
    out = {}
    for d in values or []:
        if "=" not in d:
            raise EconetError(f"--detail must be NAME=VALUE, got {d!r}", field="detail")
        k, v = d.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@registry_app.command("add")
def add(key: Annotated[str, typer.Argument(help="Short stable id (lower case), e.g. dipa-1994.")],
        kind: Annotated[str, typer.Option("--kind", help="agreement | project | activity")],
        title: Annotated[str, typer.Option("--title")],
        status: Annotated[Optional[str], typer.Option("--status", help="e.g. in force, expired, proposed, ongoing, "
                                                                         "completed, unknown")] = None,
        start: Annotated[Optional[str], typer.Option("--start", "--signed", help="Date signed / started "
                                                                                  "(YYYY[-MM[-DD]] or unknown).")] = None,
        end: Annotated[Optional[str], typer.Option("--end", help="End date.")] = None,
        renewed: Annotated[Optional[list[str]], typer.Option("--renewed", help="Date renewed (repeat).")] = None,
        scope: Annotated[Optional[str], typer.Option("--scope", help="Scope or objectives.")] = None,
        field: Annotated[Optional[list[str]], typer.Option("--field", help="Field of cooperation (repeat).")] = None,
        visibility: Annotated[str, typer.Option("--visibility", help="public | alliance | parties")] = "public",
        keeper: Annotated[Optional[str], typer.Option("--keeper", help="Keeping organization.")] = None,
        parent: Annotated[Optional[str], typer.Option("--parent", help="Agreement or project it was done under.")] = None,
        detail: Annotated[Optional[list[str]], typer.Option("--detail", help="NAME=VALUE (funding, indicators, "
                                                            "outputs, where, type, ...; repeat).")] = None,
        source: Annotated[Optional[list[str]], typer.Option("--source", help="'Title <url>' (repeat).")] = None,
        party: Annotated[Optional[list[str]], typer.Option("--party", help="Party or partner: a hub organization "
                                                           "or a name (repeat).")] = None,
        pa: Annotated[Optional[list[str]], typer.Option("--pa", help="Protected area covered (repeat).")] = None,
        dataset: Annotated[Optional[list[str]], typer.Option("--dataset", help="Dataset produced (repeat).")] = None,
        as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
        debug: Debug = False) -> None:
    """Add a record (or update the one with this key), with its parties and links."""
    apply(quiet, debug)
    from sqlalchemy import select
    from econet.hub import models as m, registry

    def work(conn, view):
        data = {"key": key, "kind": kind, "title": title, "status": status, "start_date": start, "end_date": end,
                "renewed": renewed or [], "scope": scope, "fields": field or [], "visibility": visibility,
                "keeper": keeper, "parent": parent, "details": _details(detail), "sources": _sources(source)}
        out = registry.add(conn, view, data)
        for p in party or []:
            org = conn.execute(select(m.Organization.name).where(m.Organization.name == p)).scalar()
            registry.set_party(conn, view, key, p, organization=org, role="party" if kind == "agreement" else "partner")
        for k, targets in (("pa", pa), ("dataset", dataset)):
            for t in targets or []:
                registry.link(conn, view, key, k, t)
        return out
    _emit(_run(db, as_user, work, write=True), fmt, "registry")


@registry_app.command("list")
def list_(kind: Annotated[Optional[str], typer.Option("--kind", help="agreement | project | activity")] = None,
          pa: Annotated[Optional[str], typer.Option("--pa", help="Linked to this protected area.")] = None,
          dataset: Annotated[Optional[str], typer.Option("--dataset", help="Linked to this dataset.")] = None,
          party: Annotated[Optional[str], typer.Option("--party", help="With this party or partner.")] = None,
          as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
          debug: Debug = False) -> None:
    """List the records (those the user may see)."""
    apply(quiet, debug)
    from econet.hub import registry
    rows = _run(db, as_user, lambda c, v: registry.list_records(c, v, kind=kind, pa=pa, dataset=dataset, party=party))
    _emit(rows, fmt, "registry")


@registry_app.command("show")
def show(key: str, as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
         debug: Debug = False) -> None:
    """A record: parties and recognition, links, what was done under it, what links to it."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.show(c, v, key)), fmt, key)


@registry_app.command("pa")
def pa_page(name: str, as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
            debug: Debug = False) -> None:
    """A protected area's page: its agreements, projects, activities, their data, fields of cooperation."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.pa_page(c, v, name)), fmt, name)


@registry_app.command("link")
def link(key: str,
         pa: Annotated[Optional[str], typer.Option("--pa", help="Protected area name.")] = None,
         dataset: Annotated[Optional[str], typer.Option("--dataset", help="Dataset name.")] = None,
         job: Annotated[Optional[int], typer.Option("--job", help="Analysis job id.")] = None,
         record: Annotated[Optional[str], typer.Option("--record", help="Another record's key.")] = None,
         note: Annotated[Optional[str], typer.Option("--note")] = None,
         remove: Annotated[bool, typer.Option("--remove", help="Remove the link instead.")] = False,
         as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
         debug: Debug = False) -> None:
    """Link a record to a PA, dataset, analysis job or another record (one per call)."""
    apply(quiet, debug)
    from econet.errors import EconetError
    from econet.hub import registry
    given = [(k, str(v)) for k, v in (("pa", pa), ("dataset", dataset), ("job", job), ("record", record)) if v is not None]
    if len(given) != 1:
        raise EconetError("give exactly one of --pa, --dataset, --job, --record", field="target")
    kind, target = given[0]
    fn = (lambda c, v: registry.unlink(c, v, key, kind, target)) if remove else \
        (lambda c, v: registry.link(c, v, key, kind, target, note))
    _emit(_run(db, as_user, fn, write=True), fmt, "link")


@registry_app.command("party")
def party(key: str, name: str,
          organization: Annotated[Optional[str], typer.Option("--organization", help="Hub organization.")] = None,
          country: Annotated[Optional[str], typer.Option("--country", help="ISO alpha-2.")] = None,
          role: Annotated[str, typer.Option("--role", help="party | partner | lead | funder | participant")] = "party",
          recognized_on: Annotated[Optional[str], typer.Option("--recognized-on", help="Mutual recognition date.")] = None,
          note: Annotated[Optional[str], typer.Option("--note", help="Recognition note.")] = None,
          as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
          debug: Debug = False) -> None:
    """Add or update a party of an agreement or a partner of a project."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.set_party(c, v, key, name, organization=organization, country=country,
                                                             role=role, recognized_on=recognized_on,
                                                             recognition_note=note), write=True), fmt, "party")


@registry_app.command("recognize")
def recognize(key: str, party_name: Annotated[str, typer.Argument(help="The recognizing partner (party name).")],
              date: Annotated[str, typer.Option("--date", help="YYYY[-MM[-DD]]")],
              note: Annotated[Optional[str], typer.Option("--note")] = None,
              as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
              debug: Debug = False) -> None:
    """Record a partner's mutual recognition of a project (by that partner's data managers)."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.recognize(c, v, key, party_name, date, note), write=True), fmt,
          "recognition")


@registry_app.command("cooperation")
def cooperation(pa: Annotated[Optional[list[str]], typer.Option("--pa", help="Only pairs with this PA (repeat).")] = None,
                as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
                debug: Debug = False) -> None:
    """Fields of cooperation per PA pair (the per-pair table and the agreements covering both PAs)."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.fields_of_cooperation(c, v, pa or None)), fmt, "cooperation")


@registry_app.command("cooperate")
def cooperate(pa_a: str, pa_b: str, field: str,
              status: Annotated[str, typer.Option("--status", help="proposed | ongoing | ...")] = "proposed",
              record: Annotated[Optional[str], typer.Option("--record", help="Under this agreement or project.")] = None,
              source: Annotated[Optional[str], typer.Option("--source")] = None,
              note: Annotated[Optional[str], typer.Option("--note")] = None,
              as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
              debug: Debug = False) -> None:
    """Record a field of cooperation between two protected areas."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.set_cooperation(c, v, pa_a, pa_b, field, status=status, record=record,
                                                                   source=source, note=note), write=True),
          fmt, "cooperation")


@registry_app.command("remove")
def remove(key: str, as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
           debug: Debug = False) -> None:
    """Remove a record (its parties and links go with it)."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.remove(c, v, key), write=True), fmt, "registry")


@registry_app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="registry.json, a folder of CSV files (records.csv, "
                                                      "parties.csv, links.csv, cooperation.csv) or one records.csv.")],
            as_user: AsUser = None, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
            debug: Debug = False) -> None:
    """Import records, parties, links and fields of cooperation: all or nothing."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.import_file(c, v, path), write=True), fmt, "import")


@registry_app.command("export")
def export(out: Annotated[Path, typer.Argument(help="A .json file, or a folder for the CSV files.")],
           format: Annotated[Optional[str], typer.Option("--format", help="json | csv (default: from OUT).")] = None,
           as_user: AsUser = None, db: Db = None, fmt: Annotated[OutputFormat, typer.Option(
               "--output", help="Report format.")] = OutputFormat.table, quiet: Quiet = False,
           debug: Debug = False) -> None:
    """Export what the user may see of the registry as JSON or CSV."""
    apply(quiet, debug)
    from econet.hub import registry
    _emit(_run(db, as_user, lambda c, v: registry.export(c, v, out, format), write=True), fmt, "export")
