"""Read a Circuitscape .ini file unchanged: same keys, same defaults, same truth values, paths resolved
as Circuitscape does (relative to the working directory; econet also tries the .ini's folder).

Parsing follows Circuitscape.jl src/config.jl `parse_config`: section headers are ignored, every
`key = value` line sets a key, later lines win; defaults from `init_config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from econet.errors import EconetError

TRUELIST = {"true", "True", "TRUE", "1"}
FALSELIST = {"false", "False", "FALSE", "0"}

DEFAULTS = {
    "version": "unknown",
    "connect_four_neighbors_only": "False",
    "connect_using_avg_resistances": "False",
    "use_polygons": "False",
    "polygon_file": "(Browse for a short-circuit region file)",
    "source_file": "(Browse for a current source file)",
    "ground_file": "(Browse for a ground point file)",
    "ground_file_is_resistances": "True",
    "use_unit_currents": "False",
    "use_direct_grounds": "False",
    "remove_src_or_gnd": "keepall",
    "mask_file": "None",
    "use_mask": "False",
    "preemptive_memory_release": "False",
    "low_memory_mode": "False",
    "parallelize": "False",
    "max_parallel": "0",
    "print_timings": "False",
    "print_rusages": "False",
    "solver": "cg+amg",
    "use_variable_source_strengths": "False",
    "variable_source_file": "None",
    "set_null_currents_to_nodata": "False",
    "output_file": "(Choose a base name for output files)",
    "write_cum_cur_map_only": "False",
    "log_transform_maps": "False",
    "write_max_cur_maps": "False",
    "compress_grids": "False",
    "set_null_voltages_to_nodata": "False",
    "set_focal_node_currents_to_zero": "False",
    "write_volt_maps": "False",
    "write_cur_maps": "False",
    "habitat_map_is_resistances": "True",
    "habitat_file": "(Browse for a resistance file)",
    "scenario": "not entered",
    "data_type": "raster",
    "use_included_pairs": "False",
    "included_pairs_file": "(Browse for a file with pairs to include or exclude)",
    "point_file": "(Browse for file with locations of focal points or regions)",
    "use_reclass_table": "False",
    "reclass_file": "(Browse for file with reclassification data)",
    "log_file": "None",
    "log_level": "INFO",
    "precision": "Double",
    "cholmod_batch_size": "1000",
    "use_64bit_indexing": "false",
}

SCENARIOS = {"pairwise": "pairwise", "advanced": "advanced", "one-to-all": "one-to-all",
             "one_to_all": "one-to-all", "all-to-one": "all-to-one", "all_to_one": "all-to-one"}
POLICIES = {"keepall", "rmvsrc", "rmvgnd", "rmvall", "not entered"}
BOOL_KEYS = [k for k, v in DEFAULTS.items() if v in TRUELIST | FALSELIST and k != "max_parallel"]
FILE_KEYS = ("habitat_file", "polygon_file", "source_file", "ground_file", "mask_file", "point_file",
             "variable_source_file", "included_pairs_file", "output_file")


@dataclass
class CircuitscapeConfig:
    """The parsed .ini: `raw` holds every key as text (defaults filled in); helpers give typed values."""

    raw: dict
    path: Path
    workdir: Path

    def flag(self, key: str) -> bool:
        return self.raw.get(key, DEFAULTS.get(key, "False")).strip() in TRUELIST

    def text(self, key: str) -> str:
        return self.raw.get(key, DEFAULTS.get(key, "")).strip()

    @property
    def scenario(self) -> str:
        return SCENARIOS[self.text("scenario").lower()]

    @property
    def is_network(self) -> bool:
        return self.text("data_type").lower() == "network"

    def file(self, key: str, *, must_exist: bool = True) -> Path:
        """A path from the .ini resolved against the working directory (then the .ini's folder)."""
        value = self.text(key)
        if not value or value.startswith("(") or value.lower() == "none":
            raise EconetError(f"the .ini names no {key} but the chosen options need one", path=self.path,
                              field=key)
        p = Path(value).expanduser()
        if p.is_absolute():
            cands = [p]
        else:
            cands = [self.workdir / p, self.path.parent / p]
        if not must_exist:
            return cands[0]
        for c in cands:
            if c.exists() or Path(str(c) + ".gz").exists():
                return c
        raise EconetError(f"{key} not found: {value}", path=self.path, field=key)

    @property
    def output_prefix(self) -> Path:
        """Output stem: output_file without its '.out' (Circuitscape splits at the first '.out')."""
        out = self.file("output_file", must_exist=False)
        name = out.name.split(".out")[0]
        return out.with_name(name)


def read_ini(path: str | Path, workdir: str | Path | None = None) -> CircuitscapeConfig:
    """Parse a Circuitscape .ini; raises EconetError naming the file, line and key on malformed input."""
    path = Path(path)
    if not path.is_file():
        raise EconetError("configuration file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except (UnicodeDecodeError, OSError) as exc:
        raise EconetError(f"cannot read configuration ({exc.__class__.__name__})", path=path) from None
    raw = dict(DEFAULTS)
    seen = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith(("#", ";")):
            continue
        if s.startswith("["):
            if not s.endswith("]"):
                raise EconetError("malformed section header", path=path, row=lineno)
            continue
        if "=" not in s:
            raise EconetError(f"expected 'key = value', got '{s[:60]}'", path=path, row=lineno)
        key, value = s.split("=", 1)
        key = key.strip()
        if not key:
            raise EconetError("empty key before '='", path=path, row=lineno)
        raw[key] = value.strip()
        seen.add(key)
    if "scenario" not in seen:
        raise EconetError("no 'scenario' key: not a Circuitscape configuration", path=path, field="scenario")
    cfg = CircuitscapeConfig(raw=raw, path=path, workdir=Path(workdir) if workdir else Path.cwd())
    _validate(cfg)
    return cfg


def _validate(cfg: CircuitscapeConfig) -> None:
    for key in BOOL_KEYS:
        v = cfg.raw[key].strip()
        if v not in TRUELIST | FALSELIST and not (v.startswith("(") or v == ""):
            raise EconetError(f"'{v}' is not a truth value (True/False)", path=cfg.path, field=key)
    sc = cfg.text("scenario").lower()
    if sc not in SCENARIOS:
        raise EconetError(f"unknown scenario '{cfg.text('scenario')}' (pairwise, advanced, one-to-all, "
                          "all-to-one)", path=cfg.path, field="scenario")
    if cfg.text("data_type").lower() not in ("raster", "network"):
        raise EconetError(f"unknown data_type '{cfg.text('data_type')}' (raster or network)", path=cfg.path,
                          field="data_type")
    if cfg.is_network and cfg.scenario not in ("pairwise", "advanced"):
        raise EconetError("network data supports only pairwise and advanced scenarios", path=cfg.path,
                          field="scenario")
    if cfg.text("remove_src_or_gnd") not in POLICIES:
        raise EconetError(f"unknown remove_src_or_gnd '{cfg.text('remove_src_or_gnd')}' "
                          "(keepall, rmvsrc, rmvgnd, rmvall)", path=cfg.path, field="remove_src_or_gnd")
    solver = cfg.text("solver").lower()
    if solver not in ("cg+amg", "amg", "cholmod", "pardiso", "accelerate", "splu", "auto"):
        raise EconetError(f"unknown solver '{cfg.text('solver')}'", path=cfg.path, field="solver")
    out = cfg.text("output_file")
    if not out or out.startswith("("):
        raise EconetError("no output_file given", path=cfg.path, field="output_file")
