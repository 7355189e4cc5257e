"""Options shared by every command, defined once."""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated, Optional

import typer


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


DEFAULT_DB = "sqlite:///econet.db"


def default_db() -> str:
    """ECONET_DB, else an SQLite file in the working folder."""
    return os.environ.get("ECONET_DB", DEFAULT_DB)


Db = Annotated[Optional[str], typer.Option("--db", help="Database URL (sqlite:///file.db or postgresql+psycopg://...); "
                                                  "default $ECONET_DB or sqlite:///econet.db.",
                                           envvar="ECONET_DB", show_default=False)]
Format = Annotated[OutputFormat, typer.Option("--format", help="Output format for results printed to the terminal.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter; results and errors only.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")]


class State:
    """Process-wide CLI state set by the root callback and by per-command flags."""

    quiet: bool = False
    debug: bool = False


def apply(quiet: bool = False, debug: bool = False) -> None:
    """Record per-command --quiet/--debug in the shared state."""
    State.quiet = State.quiet or quiet
    State.debug = State.debug or debug
