"""All-or-nothing output: files are written under temporary names and renamed into place at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes[-1:]),
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()


class OutputSet:
    """Several output files that appear together or not at all.

    Use as a context manager: ``path(name)`` gives a temporary location for each file;
    on success every file is renamed to its final name, on error none is and temporaries are removed.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._staged: dict[Path, Path] = {}
        self._tmpdir: Path | None = None

    def __enter__(self) -> "OutputSet":
        self.directory.mkdir(parents=True, exist_ok=True)
        self._tmpdir = Path(tempfile.mkdtemp(prefix=".econet-out-", dir=self.directory))
        return self

    def path(self, name: str | Path) -> Path:
        """Temporary path for the output called `name` (relative to the directory, or absolute)."""
        assert self._tmpdir is not None, "OutputSet used outside its with-block"
        final = Path(name) if Path(name).is_absolute() else self.directory / name
        tmp = self._tmpdir / f"{len(self._staged)}_{final.name}"
        self._staged[final] = tmp
        return tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                for final, tmp in self._staged.items():
                    if tmp.exists():
                        final.parent.mkdir(parents=True, exist_ok=True)
                        if tmp.is_dir() and final.is_dir():  # a folder output replacing an earlier run's
                            old = self._tmpdir / f"old_{final.name}"
                            os.replace(final, old)
                        os.replace(tmp, final)
        finally:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
