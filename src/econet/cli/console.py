"""Terminal output helpers: results to stdout, messages to stderr, silent when --quiet."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Mapping

from rich.console import Console
from rich.table import Table

from econet.cli.options import OutputFormat, State
from econet.progress import progress_bar

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def say(message: str) -> None:
    """A progress message on stderr, suppressed by --quiet."""
    if not State.quiet:
        err.print(message)


def progress(description: str, total: int | None = None):
    """A progress bar honouring --quiet."""
    return progress_bar(description, total, quiet=State.quiet)


def _plain(value: Any) -> Any:
    try:
        import numpy as np
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    return value


def emit(data: Any, fmt: OutputFormat = OutputFormat.table, *, title: str | None = None) -> None:
    """Print a result: JSON exactly as given, or rows (list of mappings) as a table or CSV."""
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(data, default=_plain, indent=2, ensure_ascii=False) + "\n")
        return
    rows: list[Mapping[str, Any]]
    if isinstance(data, Mapping):
        rows = [{"key": k, "value": v} for k, v in data.items()]
    else:
        rows = list(data)
    if fmt == OutputFormat.csv:
        import csv
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: _plain(v) for k, v in r.items()})
        return
    table = Table(title=title)
    columns: Iterable[str] = rows[0].keys() if rows else []
    for c in columns:
        table.add_column(str(c))
    for r in rows:
        table.add_row(*[_fmt_cell(_plain(v)) for v in r.values()])
    out.print(table)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=_plain)
    return str(v)
