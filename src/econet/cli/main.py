"""Entry point of the `econet` command: builds the Typer app from every command module and maps errors to exit codes.

Each module in this package that defines ``register(app)`` adds its commands or group there; heavy
imports stay inside the command functions so that `econet --help` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from econet import __version__
from econet.cli._click import exceptions as click_exc
from econet.cli.options import Debug, Quiet, State
from econet.errors import EconetError

HELPERS = {"main", "options", "console"}

app = typer.Typer(
    name="econet",
    help="Transboundary conservation: connectivity, shared observations, population analytics, atlas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"econet {__version__}")
        raise typer.Exit()


@app.callback()
def root(quiet: Quiet = False, debug: Debug = False,
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """econet: plan, monitor and share conservation data across borders."""
    State.quiet = quiet
    State.debug = debug


def _register_all() -> None:
    import econet.cli as pkg
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name in HELPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"econet.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


PANELS = {
    "Start here": ["demo", "serve"],
    "Connectivity": ["circuit", "omniscape", "corridors", "protconn", "pc", "coverage"],
    "Observation hub and sharing": ["hub", "orgs", "users", "tokens", "sharing", "registry", "alerts", "watch"],
    "Population and movement": ["scr", "occupancy", "genetics", "crossings", "tracks", "activity"],
    "Birds, glaciers, services": ["waterbirds", "rings", "glaciers", "services"],
    "Reports": ["report"],
}


def _command_name(info) -> str:
    if getattr(info, "name", None):
        return info.name
    callback = getattr(info, "callback", None)
    return callback.__name__.replace("_", "-") if callback else ""


def _assign_panels() -> None:
    """Group commands in --help by what users come for."""
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    order = {panel: i for i, panel in enumerate(PANELS)}
    for info in [*app.registered_commands, *app.registered_groups]:
        panel = panel_of.get(_command_name(info))
        if panel and not getattr(info, "rich_help_panel", None):
            info.rich_help_panel = panel

    def key(info):
        name = _command_name(info)
        return order.get(panel_of.get(name), len(order)), PANELS.get(panel_of.get(name), []).index(name) \
            if name in panel_of else 0, name

    app.registered_commands.sort(key=key)
    app.registered_groups.sort(key=key)


_register_all()
_assign_panels()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input ends with a one-line message and exit code 2, no traceback unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = app(args=args, prog_name="econet", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(2)
    except EconetError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: still no traceback unless asked
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
