"""WGMS Fluctuations of Glaciers: the FoG tables as WGMS publishes them (GLACIER, GLACIER_ID_LUT, STATE,
FRONT_VARIATION, CHANGE, MASS_BALANCE_OVERVIEW, MASS_BALANCE) and OGGM's copies (mbdata_WGMS-*.csv,
profile_WGMS-*.csv, rgi_wgms_links_*.csv).

Every value cell becomes one glacier observation: variable (the WGMS column, lower case), year, period (WGMS
dates YYYYMMDD, 99 = unknown), elevation band, value, unit, uncertainty (the matching *_UNC column), method
(survey platform/method code) and investigator. Glaciers are identified by WGMS id, with GLIMS and RGI ids.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.ingest.base import Ingest, chunks, number, text
from econet.hub.ingest.csv_mapping import glacier_id

FORMAT = "wgms"

# value column -> (unit, uncertainty column)
VALUES = {
    "WINTER_BALANCE": ("mm w.e.", "WINTER_BALANCE_UNC"), "SUMMER_BALANCE": ("mm w.e.", "SUMMER_BALANCE_UNC"),
    "ANNUAL_BALANCE": ("mm w.e.", "ANNUAL_BALANCE_UNC"), "FRONT_VARIATION": ("m", "FRONT_VAR_UNC"),
    "AREA": ("km2", "AREA_UNC"), "LENGTH": ("km", "LENGTH_UNC"),
    "HIGHEST_ELEVATION": ("m a.s.l.", "ELEVATION_UNC"), "MEDIAN_ELEVATION": ("m a.s.l.", "ELEVATION_UNC"),
    "LOWEST_ELEVATION": ("m a.s.l.", "ELEVATION_UNC"), "AREA_CHANGE": ("1000 m2", "AREA_CHANGE_UNC"),
    "THICKNESS_CHG": ("mm", "THICKNESS_CHG_UNC"), "VOLUME_CHANGE": ("1000 m3", "VOLUME_CHANGE_UNC"),
    "ELA": ("m a.s.l.", "ELA_UNC"), "AAR": ("%", None), "ACC_AREA": ("km2", "ACC_AREA_UNC"),
    "ABL_AREA": ("km2", "ABL_AREA_UNC"),
}
ID_COLUMNS = {"WGMS_ID", "POLITICAL_UNIT", "NAME", "YEAR", "RGI_ID", "RGI60_ID", "GLIMS_ID"}


def detect(path: Path) -> bool:
    if path.is_dir():
        return (path / "mbdata").is_dir() or any(path.glob("mbdata_WGMS-*.csv")) or any(
            "WGMS_ID" in _header(p) for p in path.glob("*.csv"))
    return path.suffix.lower() == ".csv" and "WGMS_ID" in _header(path)


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return []


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.csv")) + sorted((path / "mbdata").glob("*.csv")) + sorted(
        (path / "mb_profiles").glob("*.csv"))
    return [f for f in files if f.name.startswith(("mbdata_", "profile_")) or "WGMS_ID" in _header(f)]


def _links(path: Path) -> dict[int, dict]:
    """OGGM's rgi_wgms_links table (WGMS id -> GLIMS/RGI ids, centre point), when present beside the data."""
    base = path if path.is_dir() else path.parent
    cands = sorted(base.glob("rgi_wgms_links*.csv")) + sorted(base.parent.glob("rgi_wgms_links*.csv"))
    cands += sorted(base.glob("selected_glaciers*.csv"))  # econet's shipped extract: the same columns
    out: dict[int, dict] = {}
    if cands:
        with open(cands[0], newline="", encoding="utf-8-sig") as fh:
            for r in csv.DictReader(fh):
                try:
                    out[int(r["WGMS_ID"])] = r
                except (KeyError, ValueError):
                    continue
    return out


def load(ing: Ingest, path: Path, **_options) -> dict:
    links = _links(path)
    files = _files(path)
    if not files:
        raise EconetError("no WGMS tables found (CSV files with a WGMS_ID column, or OGGM mbdata_/profile_ files)",
                          path=path)
    for f in files:
        if f.name.startswith("profile_WGMS-"):
            _profile(ing, f, links)
        elif f.name.startswith("rgi_wgms_links") or f.name.startswith(("mb_overview", "wgms_data_stats",
                                                                       "selected_glaciers")):
            continue
        else:
            _table(ing, f, links)
    return {"source_format": "wgms"}


def _glacier(ing, links, wgms_id, name=None, country=None, rgi=None, glims=None, lon=None, lat=None):
    ln = links.get(wgms_id) or {}
    return glacier_id(ing, wgms_id=wgms_id, name=name or text(ln.get("NAME")),
                      country=country or text(ln.get("POLITICAL_UNIT")),
                      rgi_id=rgi or text(ln.get("RGI60_ID")), glims_id=glims or text(ln.get("GLIMS_ID")),
                      lon=lon if lon is not None else number(ln.get("CenLon")),
                      lat=lat if lat is not None else number(ln.get("CenLat")))


def _rows(path: Path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise EconetError("empty table", path=path)
        for r in reader:
            yield reader.line_num, r


def _table(ing: Ingest, path: Path, links) -> None:
    header = _header(path)
    if "WGMS_ID" not in header:
        raise EconetError("not a WGMS table (no WGMS_ID column)", path=path, row=1, field="WGMS_ID")
    value_cols = [c for c in header if c in VALUES]
    is_lut = "GLIMS_ID" in header or "RGI60_ID" in header
    for part in chunks(_rows(path)):
        out = []
        for line, r in part:
            try:
                wid = int(float(r["WGMS_ID"]))
            except (TypeError, ValueError):
                raise EconetError(f"not a WGMS id: {r.get('WGMS_ID')!r}", path=path, row=line, field="WGMS_ID") from None
            gid = _glacier(ing, links, wid, name=text(r.get("NAME")), country=text(r.get("POLITICAL_UNIT")),
                           rgi=text(r.get("RGI60_ID") or r.get("RGI_ID")), glims=text(r.get("GLIMS_ID")),
                           lon=number(r.get("LONGITUDE"), path=path, row=line, field="LONGITUDE"),
                           lat=number(r.get("LATITUDE"), path=path, row=line, field="LATITUDE"))
            if is_lut and not value_cols:
                continue
            year = number(r.get("YEAR"), path=path, row=line, field="YEAR")
            lower = number(r.get("LOWER_BOUND"), path=path, row=line, field="LOWER_BOUND")
            upper = number(r.get("UPPER_BOUND"), path=path, row=line, field="UPPER_BOUND")
            if lower == 9999 and upper == 9999:  # WGMS: 9999 marks glacier-wide values
                lower = upper = None
            start = text(r.get("REFERENCE_DATE") or r.get("BEGIN_PERIOD"))
            end = text(r.get("SURVEY_DATE") or r.get("END_PERIOD"))
            method = text(r.get("SURVEY_PLATFORM_METHOD") or r.get("SD_PLATFORM_METHOD") or r.get("TIME_SYSTEM"))
            extra = {k: v for k, v in r.items() if v not in (None, "") and k not in VALUES and k not in ID_COLUMNS}
            for col in value_cols:
                v = number(r.get(col), path=path, row=line, field=col)
                if v is None:
                    continue
                unit, unc_col = VALUES[col]
                unc = number(r.get(unc_col), path=path, row=line, field=unc_col) if unc_col else None
                out.append({"glacier_id": gid, "variable": col.lower(), "year": int(year) if year is not None else None,
                            "period_start": start, "period_end": end, "lower_bound_m": lower, "upper_bound_m": upper,
                            "value": v, "unit": unit, "uncertainty": unc, "method": method,
                            "investigator": text(r.get("INVESTIGATOR")), "source_row": line,
                            "row_hash": ing.row_hash("wgms", [path.name, col, *r.values()]),
                            "attributes": extra or None})
        ing.insert(m.GlacierObservation, out)
        ing.tick(len(part), path.name)


def _profile(ing: Ingest, path: Path, links) -> None:
    """OGGM profile_WGMS-<id>.csv: one row per year, one column per elevation band (annual balance, mm w.e.)."""
    mo = re.search(r"WGMS-0*(\d+)", path.name)
    if not mo:
        raise EconetError("cannot read the WGMS id from the file name", path=path)
    gid = _glacier(ing, links, int(mo.group(1)))
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise EconetError("empty table", path=path)
        bands = [number(h, path=path, row=1, field=h) for h in header[1:]]
        out = []
        for values in reader:
            line = reader.line_num
            year = number(values[0], path=path, row=line, field="year")
            for band, raw in zip(bands, values[1:]):
                v = number(raw, path=path, row=line, field=str(band))
                if v is None:
                    continue
                out.append({"glacier_id": gid, "variable": "annual_balance_profile",
                            "year": int(year) if year is not None else None, "lower_bound_m": band,
                            "upper_bound_m": band, "value": v, "unit": "mm w.e.", "source_row": line,
                            "row_hash": ing.row_hash("wgms-profile", [path.name, year, band, raw]),
                            "attributes": {"elevation_band": str(band)}})
        ing.insert(m.GlacierObservation, out)
        ing.tick(len(out), path.name)
