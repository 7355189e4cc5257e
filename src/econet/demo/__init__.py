"""`econet demo`: builds the demo border region and runs every capability on it, step by step.

Each module in `econet.demo.steps` defines ``ORDER`` (int), ``TITLE`` (str) and ``run(ctx) -> dict``;
steps run in ORDER and share one DemoContext. A step returns a summary (short key -> value) that the
demo prints and saves in ``summary.json``; files go through ``ctx.outputs`` so nothing half-written stays.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from econet.atomic import atomic_path


@dataclass
class DemoContext:
    """What the steps share: the output folder, the database URL, and results of earlier steps."""

    out: Path
    db_url: str
    quiet: bool = False
    progress: Callable[..., Any] | None = None
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def record(self, path: Path) -> Path:
        """Note an output file for the final listing."""
        self.files.append(Path(path))
        return Path(path)


def steps() -> list[Any]:
    """The demo's step modules, in run order."""
    import econet.demo.steps as pkg
    mods = [importlib.import_module(f"econet.demo.steps.{m.name}") for m in pkgutil.iter_modules(pkg.__path__)
            if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: m.ORDER)


def run_demo(out: Path, db_url: str, *, quiet: bool = False,
             on_step: Callable[[int, int, str], None] | None = None) -> DemoContext:
    """Run every step; return the context with per-step summaries and the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, db_url=db_url, quiet=quiet)
    mods = steps()
    summary: dict[str, Any] = {}
    for i, mod in enumerate(mods):
        if on_step:
            on_step(i, len(mods), mod.TITLE)
        summary[mod.__name__.rsplit(".", 1)[-1]] = mod.run(ctx) or {}
    if on_step:
        on_step(len(mods), len(mods), "done")
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False))
    ctx.record(out / "summary.json")
    ctx.results["summary"] = summary
    return ctx
