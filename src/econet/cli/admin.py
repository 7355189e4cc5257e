"""`econet orgs|users|tokens|sharing`: accounts, API tokens and the sharing rules of the hub (issue 4)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from econet.cli.options import Db, Debug, Format, OutputFormat, Quiet, apply

orgs_app = typer.Typer(help="Partner organizations.", no_args_is_help=True)
users_app = typer.Typer(help="Users, passwords and roles per organization.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (sent as Authorization: Bearer).", no_args_is_help=True)
sharing_app = typer.Typer(help="Sharing rules: visibility, embargo, grants, sensitive taxa, audit log.",
                          no_args_is_help=True)
sensitive_app = typer.Typer(help="Sensitive taxa per country (Chapman 2020: withheld, 0.1, 0.01, 0.001).",
                            no_args_is_help=True)
sharing_app.add_typer(sensitive_app, name="sensitive")


def register(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(sharing_app, name="sharing")


def _begin(db):
    from econet.hub.db import open_hub
    return open_hub(db).begin()


def _connect(db):
    from econet.hub.db import open_hub
    return open_hub(db).connect()


def _emit(data, fmt, title=None):
    from econet.cli.console import emit
    emit(data, fmt, title=title)


# --------------------------------------------------------------------------- orgs

@orgs_app.command("add")
def orgs_add(name: Annotated[str, typer.Argument(help="Organization name.")],
             country: Annotated[Optional[str], typer.Option("--country", help="ISO 3166-1 alpha-2.")] = None,
             not_alliance: Annotated[bool, typer.Option("--not-alliance", help="Not an alliance member.")] = False,
             kind: Annotated[Optional[str], typer.Option("--kind", help="e.g. protected area, NGO.")] = None,
             url: Annotated[Optional[str], typer.Option("--url")] = None,
             db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Add an organization (or update its country / alliance membership)."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _begin(db) as conn:
        oid = accounts.add_org(conn, name, country=country, alliance_member=not not_alliance, kind=kind, url=url)
    _emit({"id": oid, "name": name, "country": country, "alliance_member": not not_alliance}, fmt, "organization")


@orgs_app.command("list")
def orgs_list(db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """List organizations."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _connect(db) as conn:
        _emit(accounts.list_orgs(conn), fmt, "organizations")


# --------------------------------------------------------------------------- users

@users_app.command("add")
def users_add(username: Annotated[str, typer.Argument(help="User name (letters, digits, _ . @ -).")],
              password: Annotated[Optional[str], typer.Option("--password", envvar="ECONET_PASSWORD",
                                                              help="Password (default: asked; or $ECONET_PASSWORD).")] = None,
              email: Annotated[Optional[str], typer.Option("--email")] = None,
              org: Annotated[Optional[str], typer.Option("--org", help="Organization to join.")] = None,
              role: Annotated[str, typer.Option("--role", help="viewer | contributor | data_manager | admin")] = "viewer",
              admin: Annotated[bool, typer.Option("--admin", help="The hub's admin (sees everything).")] = False,
              no_password: Annotated[bool, typer.Option("--no-password", help="Token-only account.")] = False,
              db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Add a user (password stored as an argon2 hash), optionally with a role in an organization."""
    apply(quiet, debug)
    from econet.hub import accounts
    if password is None and not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _begin(db) as conn:
        accounts.normalize_role(role)
        uid = accounts.add_user(conn, username, None if no_password else password, email=email, admin=admin)
        if org:
            accounts.set_role(conn, username, org, role)
    _emit({"id": uid, "username": username, "admin": admin, "organization": org, "role": role if org else None},
          fmt, "user")


@users_app.command("list")
def users_list(db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """List users with their roles."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _connect(db) as conn:
        rows = accounts.list_users(conn)
    _emit([{**r, "roles": ", ".join(r["roles"])} for r in rows] if fmt != OutputFormat.json else rows, fmt, "users")


@users_app.command("role")
def users_role(username: str, org: str,
               role: Annotated[str, typer.Argument(help="viewer | contributor | data_manager | admin | none")],
               db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Set (or with `none` remove) a user's role in an organization."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _begin(db) as conn:
        if role == "none":
            accounts.remove_role(conn, username, org)
        else:
            accounts.set_role(conn, username, org, role)
    _emit({"username": username, "organization": org, "role": role}, fmt, "role")


@users_app.command("password")
def users_password(username: str,
                   password: Annotated[Optional[str], typer.Option("--password", envvar="ECONET_PASSWORD")] = None,
                   db: Db = None, quiet: Quiet = False, debug: Debug = False) -> None:
    """Set a user's password."""
    apply(quiet, debug)
    from econet.hub import accounts
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _begin(db) as conn:
        accounts.set_password(conn, username, password)


# --------------------------------------------------------------------------- tokens

@tokens_app.command("create")
def tokens_create(username: Annotated[str, typer.Argument(help="The token's user.")],
                  days: Annotated[float, typer.Option("--days", help="Valid for this many days.")] = 90,
                  name: Annotated[Optional[str], typer.Option("--name", help="What it is for.")] = None,
                  db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Create an API token (printed once; only its hash is stored)."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _begin(db) as conn:
        t = accounts.create_token(conn, username, name=name, days=days)
    _emit(t, fmt, "token (shown once)")


@tokens_app.command("list")
def tokens_list(user: Annotated[Optional[str], typer.Option("--user")] = None,
                db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """List tokens (prefix, state, expiry; never the secret)."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _connect(db) as conn:
        _emit(accounts.list_tokens(conn, user), fmt, "tokens")


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, db: Db = None, quiet: Quiet = False, debug: Debug = False) -> None:
    """Revoke a token now."""
    apply(quiet, debug)
    from econet.hub import accounts
    with _begin(db) as conn:
        accounts.revoke_token(conn, token_id)


# --------------------------------------------------------------------------- sharing

@sharing_app.command("set")
def sharing_set(dataset: str,
                visibility: Annotated[Optional[str], typer.Option("--visibility",
                                                                  help="public | alliance | partners | owner")] = None,
                partner: Annotated[Optional[list[str]], typer.Option("--partner", help="Partner organization "
                                                                     "(repeat); replaces the list.")] = None,
                embargo: Annotated[Optional[str], typer.Option("--embargo", help="Only the owner sees the data "
                                                               "before this date (YYYY-MM-DD).")] = None,
                no_embargo: Annotated[bool, typer.Option("--no-embargo", help="Lift the embargo.")] = False,
                license: Annotated[Optional[str], typer.Option("--license")] = None,
                citation: Annotated[Optional[str], typer.Option("--citation")] = None,
                db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Set a dataset's visibility, partners, embargo, license and citation."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _begin(db) as conn:
        out = sharing.set_sharing(conn, dataset, visibility=visibility, partners=partner or None,
                                  embargo_until=embargo, clear_embargo=no_embargo, license=license, citation=citation)
    _emit({k: (", ".join(v) if isinstance(v, list) else v) for k, v in out.items()}, fmt, "sharing")


@sharing_app.command("show")
def sharing_show(dataset: str, db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False,
                 debug: Debug = False) -> None:
    """Show a dataset's sharing terms."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _connect(db) as conn:
        out = sharing.sharing_of(conn, dataset)
    _emit({k: (", ".join(v) if isinstance(v, list) else v) for k, v in out.items()}, fmt, "sharing")


@sharing_app.command("grant")
def sharing_grant(to: Annotated[str, typer.Option("--to", help="Grantee organization.")],
                  dataset: Annotated[Optional[str], typer.Option("--dataset", help="Exact access to this dataset.")] = None,
                  taxon: Annotated[Optional[str], typer.Option("--taxon", help="Exact access to this taxon...")] = None,
                  owner: Annotated[Optional[str], typer.Option("--owner", help="...in this organization's data.")] = None,
                  note: Annotated[Optional[str], typer.Option("--note", help="e.g. the data licence agreement.")] = None,
                  db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Grant a partner exact access to a dataset or a taxon."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _begin(db) as conn:
        g = sharing.grant(conn, to=to, dataset=dataset, taxon=taxon, owner=owner, note=note)
    _emit(g, fmt, "grant")


@sharing_app.command("grants")
def sharing_grants(all_: Annotated[bool, typer.Option("--all", help="Include revoked grants.")] = False,
                   db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """List grants."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _connect(db) as conn:
        _emit(sharing.list_grants(conn, include_revoked=all_), fmt, "grants")


@sharing_app.command("revoke")
def sharing_revoke(grant_id: int, db: Db = None, quiet: Quiet = False, debug: Debug = False) -> None:
    """Revoke a grant."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _begin(db) as conn:
        sharing.revoke_grant(conn, grant_id)


@sharing_app.command("audit")
def sharing_audit(limit: Annotated[int, typer.Option("--limit")] = 50,
                  db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """The newest audit log entries (who read or exported what, when)."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _connect(db) as conn:
        rows = sharing.read_audit(conn, sharing.View.admin(), limit=limit)
    _emit([{k: v for k, v in r.items() if k != "details"} for r in rows] if fmt != OutputFormat.json else rows,
          fmt, "audit log")


@sensitive_app.command("add")
def sensitive_add(taxon: str, country: str,
                  category: Annotated[str, typer.Argument(help="withheld | 0.1 | 0.01 | 0.001")],
                  reason: Annotated[Optional[str], typer.Option("--reason")] = None,
                  review: Annotated[Optional[str], typer.Option("--review-date", help="YYYY-MM-DD")] = None,
                  org: Annotated[Optional[str], typer.Option("--org", help="Responsible organization.")] = None,
                  db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """Declare a taxon sensitive in one country."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _begin(db) as conn:
        _emit(sharing.set_sensitive(conn, taxon, country, category, reason=reason, review_date=review,
                                    organization=org), fmt, "sensitive taxon")


@sensitive_app.command("list")
def sensitive_list(db: Db = None, fmt: Format = OutputFormat.table, quiet: Quiet = False, debug: Debug = False) -> None:
    """List sensitive taxa per country."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _connect(db) as conn:
        _emit(sharing.list_sensitive(conn), fmt, "sensitive taxa")


@sensitive_app.command("remove")
def sensitive_remove(taxon: str, country: str, db: Db = None, quiet: Quiet = False, debug: Debug = False) -> None:
    """Remove a taxon from a country's sensitive list."""
    apply(quiet, debug)
    from econet.hub import sharing
    with _begin(db) as conn:
        sharing.remove_sensitive(conn, taxon, country)
