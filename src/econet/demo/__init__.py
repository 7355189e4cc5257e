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

from econet.atomic import OutputSet


@dataclass
class DemoContext:
    """What the steps share: the output folder, the database URL, and results of earlier steps."""

    out: Path
    db_url: str
    quiet: bool = False
    progress: Callable[..., Any] | None = None
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    outputs: OutputSet | None = None
    descriptions: dict[Path, str] = field(default_factory=dict)

    def region(self) -> Any:
        """The demo region (built once by the first step that asks, then shared)."""
        if "region" not in self.results:
            from econet.demo.region import build_region
            self.results["region"] = build_region()
        return self.results["region"]

    def record(self, path: Path) -> Path:
        """Note an output file for the final listing."""
        self.files.append(Path(path))
        return Path(path)

    def output(self, name: str, description: str | None = None) -> Path:
        """Where a step writes the output file `name`: a staged temporary path while the demo runs, renamed
        into ``out/name`` only when every step has succeeded (so a failed demo leaves no partial files).
        Later steps take earlier results from ``ctx.results``, not from these files. `description` (one
        line) is printed next to the file name at the end."""
        self.record(self.out / name)
        if description:
            self.descriptions[self.out / name] = description
        if self.outputs is None:
            return self.out / name
        return self.outputs.path(name)


def step_modules() -> list[Any]:
    """The demo's step modules, in run order.

    (Not called `steps`: importing the subpackage econet.demo.steps rebinds that attribute of this module.)"""
    import econet.demo.steps as pkg
    mods = [importlib.import_module(f"econet.demo.steps.{m.name}") for m in pkgutil.iter_modules(pkg.__path__)
            if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: m.ORDER)


def run_demo(out: Path, db_url: str, *, quiet: bool = False,
             on_step: Callable[[int, int, str], None] | None = None) -> DemoContext:
    """Run every step; return the context with per-step summaries and the files written."""
    out = Path(out)
    created = not out.exists()
    ctx = DemoContext(out=out, db_url=db_url, quiet=quiet)
    mods = step_modules()
    summary: dict[str, Any] = {}
    try:
        with OutputSet(out) as outputs:
            ctx.outputs = outputs
            for i, mod in enumerate(mods):
                if on_step:
                    on_step(i, len(mods), mod.TITLE)
                summary[mod.__name__.rsplit(".", 1)[-1]] = mod.run(ctx) or {}
            if on_step:
                on_step(len(mods), len(mods), "done")
            ctx.output("summary.json").write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False))
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        ctx.outputs = None
    ctx.results["summary"] = summary
    return ctx
