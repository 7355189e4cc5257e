"""Read Omniscape.jl .ini files unchanged and run them, writing Omniscape's files into project_name.

Parsing follows Omniscape.jl src/config.jl `parse_cfg`: lines starting with '[' are ignored, every other
line is split at its first '=' (key right-stripped, value stripped), later lines win; defaults are
`init_cfg`'s; truth values are "true"/"True"/"TRUE" only. Paths are relative to the working folder
(as Julia resolves them); econet also tries the .ini's folder.
"""

from __future__ import annotations

import math
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from econet.connectivity.omniscape import OmniscapeParams, omniscape, reclassify
from econet.errors import EconetError

TRUELIST = {"true", "True", "TRUE"}
SINGLE = {"single", "Single", "SINGLE"}
SOLVERS = ("cg+amg", "cholmod")
REQUIRED = ("resistance_file", "radius", "project_name")

DEFAULTS = {
    "resistance_file": "", "resistance_is_conductance": "false", "source_file": "", "project_name": "",
    "parallelize": "true", "parallel_batch_size": "10", "block_size": "1", "radius": "", "buffer": "0",
    "source_threshold": "0", "source_from_resistance": "false", "r_cutoff": "Inf", "precision": "double",
    "calc_flow_potential": "false", "calc_normalized_current": "false", "correct_artifacts": "true",
    "write_raw_currmap": "true", "write_as_tif": "true", "mask_nodata": "true", "conditional": "false",
    "n_conditions": "1", "compare_to_future": "none", "condition1_file": "", "condition2_file": "",
    "condition1_future_file": "", "condition2_future_file": "", "comparison1": "within",
    "comparison2": "within", "condition1_lower": "0", "condition2_lower": "0", "condition1_upper": "0",
    "condition2_upper": "0", "reclassify_resistance": "false", "reclass_table": "",
    "write_reclassified_resistance": "false", "allow_different_projections": "false",
    "connect_four_neighbors_only": "false", "solver": "cg+amg",
    # an older spelling Omniscape still documents in places
    "resistance_file_is_conductance": "false",
}
SUPPORTED = set(DEFAULTS)


@dataclass
class OmniscapeConfig:
    path: Path
    values: dict
    user_keys: set
    warnings: list = field(default_factory=list)

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def flag(self, key: str) -> bool:
        return self.values[key] in TRUELIST

    def number(self, key: str) -> float:
        v = self.values[key]
        try:
            return float(v.replace("Inf", "inf"))
        except ValueError:
            raise EconetError(f"'{v}' is not a number", path=self.path, field=key) from None

    def integer(self, key: str) -> int:
        x = self.number(key)
        if not math.isfinite(x):
            raise EconetError(f"'{self.values[key]}' is not a whole number", path=self.path, field=key)
        return int(round(x))


def parse_cfg(path: str | Path) -> dict:
    """key -> value of every line, as Omniscape's parse_cfg reads them."""
    p = Path(path)
    if not p.is_file():
        raise EconetError("Omniscape .ini file not found", path=p)
    out = {}
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("["):
            continue
        key, sep, val = line.partition("=")
        if not sep:
            continue
        key = key.rstrip()
        if key:
            out[key] = val.strip()
    return out


def read_ini(path: str | Path) -> OmniscapeConfig:
    """Parse and validate an Omniscape .ini (missing required keys, bad comparisons, bad numbers)."""
    user = parse_cfg(path)
    missing = [k for k in REQUIRED if k not in user]
    if missing:
        raise EconetError("The following arguments are missing from your .ini with no defaults: "
                          + " ".join(missing), path=path)
    values = dict(DEFAULTS)
    values.update(user)
    cfg = OmniscapeConfig(Path(path), values, set(user))
    bad = sorted(k for k in user if k not in SUPPORTED)
    if bad:
        cfg.warnings.append("The following unsupported arguments were provided and will be ignored: "
                            + " ".join(bad))
    if values["solver"] not in SOLVERS:
        cfg.warnings.append(f"Got unsupported value for solver: {values['solver']}. Using the default, cg+amg")
        values["solver"] = "cg+amg"
    if cfg.flag("conditional"):
        n = cfg.integer("n_conditions")
        if n not in (1, 2):
            raise EconetError(f"n_conditions must be 1 or 2, got {values['n_conditions']}", path=path,
                              field="n_conditions")
        for k in ("comparison1",) + (("comparison2",) if n == 2 else ()):
            if values[k] not in ("within", "equal"):
                raise EconetError(f"{k} must be one of within or equal, got '{values[k]}'", path=path, field=k)
        ctf = values["compare_to_future"].lower()
        if ctf not in ("none", "1", "2", "both"):
            raise EconetError("compare_to_future must be one of none, 1, 2 or both, got "
                              f"'{values['compare_to_future']}'", path=path, field="compare_to_future")
    if not cfg.flag("source_from_resistance") and "source_file" not in user:
        raise EconetError("source_file is required unless source_from_resistance = true", path=path,
                          field="source_file")
    return cfg


def params_of(cfg: OmniscapeConfig) -> OmniscapeParams:
    """The run settings of a parsed .ini."""
    block = cfg.integer("block_size")
    if block % 2 == 0:
        cfg.warnings.append("block_size is even, but must be odd. Using block_size + 1.")
    conditional = cfg.flag("conditional")
    n_cond = cfg.integer("n_conditions") if conditional else 1
    try:
        return OmniscapeParams(
            radius=cfg.integer("radius"), block_size=block, buffer=cfg.integer("buffer"),
            source_threshold=cfg.number("source_threshold"),
            source_from_resistance=cfg.flag("source_from_resistance"), r_cutoff=cfg.number("r_cutoff"),
            resistance_is_conductance=(cfg.flag("resistance_is_conductance")
                                       or cfg.flag("resistance_file_is_conductance")),
            correct_artifacts=cfg.flag("correct_artifacts"),
            connect_four_neighbors_only=cfg.flag("connect_four_neighbors_only"),
            calc_flow_potential=cfg.flag("calc_flow_potential"),
            calc_normalized_current=cfg.flag("calc_normalized_current"),
            conditional=conditional, n_conditions=n_cond,
            comparison1=cfg["comparison1"] if conditional else "within",
            comparison2=cfg["comparison2"] if conditional and n_cond == 2 else "within",
            condition1_lower=cfg.number("condition1_lower"), condition1_upper=cfg.number("condition1_upper"),
            condition2_lower=cfg.number("condition2_lower"), condition2_upper=cfg.number("condition2_upper"),
            mask_nodata=cfg.flag("mask_nodata"), precision="single" if cfg["precision"] in SINGLE else "double",
            solver="auto")   # windows are solved exactly whichever solver the .ini names (docs/omniscape.md)
    except EconetError as exc:
        exc.path = str(cfg.path)
        raise


def resolve(value: str, cfg: OmniscapeConfig, key: str, workdir: Path) -> Path:
    """An input path: relative to the working folder, else to the .ini's folder."""
    p = Path(value)
    for cand in ([p] if p.is_absolute() else [workdir / p, cfg.path.parent / p]):
        if cand.exists():
            return cand
    raise EconetError(f"the file \"{value}\" does not exist", path=cfg.path, field=key)


def read_reclass_table(path: Path) -> np.ndarray:
    """Two whitespace-separated columns; "missing" (quoted or not) in the second makes cells nodata."""
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise EconetError("reclass table rows need two values", path=path, row=i)
        vals = []
        for t in parts[:2]:
            t = t.strip('"\'')
            if t.lower() == "missing":
                vals.append(np.nan)
                continue
            try:
                vals.append(float(t))
            except ValueError:
                raise EconetError(f"'{t}' is not a number or \"missing\"", path=path, row=i) from None
        rows.append(vals)
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


@dataclass
class RunSummary:
    project_dir: Path
    outputs: list
    n_targets: int
    n_tiles: int
    tiles_skipped: int
    warnings: list
    stats: dict
    result: object = None      # the OmniscapeResult (maps in memory, also those not written)


def _project_dir(name: str, workdir: Path) -> Path:
    """Omniscape's rule: project_name, or project_name_1, _2... when it exists."""
    base = Path(name)
    base = base if base.is_absolute() else workdir / base
    if not base.exists():
        return base
    k = 1
    while Path(f"{base}_{k}").exists():
        k += 1
    return Path(f"{base}_{k}")


def run_ini(path: str | Path, *, workdir: str | Path | None = None, scheduler: str | None = None,
            workers: int | None = None, tile_size: int | None = None, checkpoint_dir: str | Path | None = None,
            keep_checkpoints: bool = False, progress=None, client=None) -> RunSummary:
    """Run an Omniscape .ini and write its outputs (cum_currmap, flow_potential, normalized_cum_currmap,
    classified_resistance, a copy of the .ini as config.ini) into the project folder."""
    from econet.atomic import OutputSet
    from econet.geo.raster import Raster, read_raster, write_raster

    cfg = read_ini(path)
    params = params_of(cfg)
    wd = Path(workdir) if workdir is not None else Path.cwd()
    res_r = read_raster(resolve(cfg["resistance_file"], cfg, "resistance_file", wd))

    def aligned(key: str) -> np.ndarray:
        r = read_raster(resolve(cfg[key], cfg, key, wd))
        if r.shape != res_r.shape:
            raise EconetError(f"resistance_file and {key} are different sizes ({res_r.shape} vs {r.shape})",
                              path=cfg.path, field=key)
        other_crs = r.crs is not None and res_r.crs is not None and res_r.crs != r.crs
        if not res_r.same_grid(r) or other_crs:
            if not cfg.flag("allow_different_projections"):
                cfg.warnings.append(f"resistance_file and {key} have different projections or origins; "
                                    "proceeding as Omniscape does")
        return r.data

    source = None if params.source_from_resistance else aligned("source_file")
    table = None
    if cfg.flag("reclassify_resistance"):
        table = read_reclass_table(resolve(cfg["reclass_table"], cfg, "reclass_table", wd))
    conds = {}
    if params.conditional:
        ctf = cfg["compare_to_future"].lower()
        conds["condition1"] = aligned("condition1_file")
        if ctf in ("1", "both"):
            conds["condition1_future"] = aligned("condition1_future_file")
        if params.n_conditions == 2:
            conds["condition2"] = aligned("condition2_file")
            if ctf in ("2", "both"):
                conds["condition2_future"] = aligned("condition2_future_file")
    for w in cfg.warnings:
        warnings.warn(w, stacklevel=2)
    default_ck = checkpoint_dir is None
    if default_ck:
        checkpoint_dir = wd / ".econet-omniscape" / Path(cfg["project_name"]).name
    result = omniscape(res_r.data, params, source=source, reclass_table=table, scheduler=scheduler,
                       workers=workers, tile_size=tile_size, checkpoint_dir=checkpoint_dir,
                       keep_checkpoints=keep_checkpoints, progress=progress, client=client, **conds)
    if default_ck and not keep_checkpoints:
        try:
            (wd / ".econet-omniscape").rmdir()          # only when empty
        except OSError:
            pass
    ext = ".tif" if cfg.flag("write_as_tif") else ".asc"
    dtype = "float32" if params.precision == "single" else "float64"
    out_dir = _project_dir(cfg["project_name"], wd)

    def grid(a):
        return Raster(data=np.asarray(a, dtype=np.float64), transform=res_r.transform, crs=res_r.crs,
                      nodata=-9999.0)
    written = []
    with OutputSet(out_dir) as outs:
        if cfg.flag("reclassify_resistance") and cfg.flag("write_reclassified_resistance"):
            cls = reclassify(res_r.data.astype(np.float32) if params.precision == "single" else res_r.data, table)
            write_raster(outs.path("classified_resistance" + ext), grid(np.where(np.isnan(cls), -9999.0, cls)),
                         dtype=dtype)
            written.append(out_dir / ("classified_resistance" + ext))
        if cfg.flag("write_raw_currmap"):
            write_raster(outs.path("cum_currmap" + ext), grid(result.cum_currmap), dtype=dtype)
            written.append(out_dir / ("cum_currmap" + ext))
        if params.calc_flow_potential:
            write_raster(outs.path("flow_potential" + ext), grid(result.flow_potential), dtype=dtype)
            written.append(out_dir / ("flow_potential" + ext))
        if params.calc_normalized_current:
            write_raster(outs.path("normalized_cum_currmap" + ext), grid(result.normalized_cum_currmap),
                         dtype=dtype)
            written.append(out_dir / ("normalized_cum_currmap" + ext))
        shutil.copyfile(cfg.path, outs.path("config.ini"))
        written.append(out_dir / "config.ini")
    return RunSummary(out_dir, written, result.n_targets, result.n_tiles, result.tiles_skipped, cfg.warnings,
                      result.stats, result)
