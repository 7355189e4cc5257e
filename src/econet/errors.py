"""The one exception type for bad input: it names the file, row and field so users can fix them."""

from __future__ import annotations

from pathlib import Path


class EconetError(Exception):
    """A problem with the user's input or environment; the CLI prints it on one line and exits 2."""

    def __init__(self, message: str, *, path: str | Path | None = None,
                 row: int | None = None, field: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.row = row
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        return (": ".join([", ".join(where), self.message]) if where else self.message)
