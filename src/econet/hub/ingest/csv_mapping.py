"""Plain CSV with a YAML mapping file: column -> field, units, date format, time zone, CRS; for every record type.

Example (observations in UTM 53N with local times and uncertainty in km)::

    record_type: observation
    crs: EPSG:32653            # CRS of the coordinate columns (default EPSG:4326, lon/lat)
    date_format: "%d.%m.%Y %H:%M"   # strptime format (default: ISO 8601)
    timezone: Asia/Vladivostok      # zone or offset for times written without one
    delimiter: ";"
    columns:
      Species: scientific_name
      Date: time
      Easting: x
      Northing: y
      Accuracy: coordinate_uncertainty
      N: count
    units:
      coordinate_uncertainty: km
    defaults:
      basis_of_record: HumanObservation

Columns not named in `columns` are kept verbatim in each record's attributes: nothing is lost.
"""

from __future__ import annotations

import contextlib
import csv
import io
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.bulk import json_text
from econet.hub.ingest.base import CHUNK, Ingest, SqliteText, chunks, integer, number, parse_offset as parse_offset_text, \
    row_digest, text, to_utc

FORMAT = "csv"

COMMON = {"lon", "lat", "x", "y", "coordinate_uncertainty", "country_code", "locality"}
FIELDS: dict[str, set[str]] = {
    "observation": COMMON | {"occurrence_id", "scientific_name", "count", "time", "time_end", "date", "individual",
                             "sex", "life_stage", "behaviour", "basis_of_record", "observation_type", "event_id"},
    "sampling_event": COMMON | {"event_id", "parent_event_id", "protocol", "start", "end", "effort",
                                "sample_size_value", "sample_size_unit", "site"},
    "site": COMMON | {"site", "name"},
    "waterbird_count": COMMON | {"site", "site_name", "date", "scientific_name", "count", "method", "coverage",
                                 "observers"},
    "glacier": {"wgms_id", "glims_id", "rgi_id", "name", "country_code", "lon", "lat", "variable", "year",
                "period_start", "period_end", "lower_bound", "upper_bound", "value", "unit", "uncertainty", "method",
                "investigator"},
    "genotype": {"sample", "population", "locus", "allele1", "allele2", "individual", "scientific_name",
                 "lon", "lat", "x", "y", "time", "sample_type"},
}
REQUIRED = {"observation": [("scientific_name", "observation_type")], "sampling_event": [("event_id",)],
            "site": [("site",)], "waterbird_count": [("site",), ("date",), ("scientific_name",), ("count",)],
            "glacier": [("wgms_id", "rgi_id", "glims_id", "name"), ("variable",), ("value",)],
            "genotype": [("sample",), ("locus",), ("allele1",)]}
LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0}
MASS_BALANCE = {"mm w.e.": 1.0, "kg m-2": 1.0, "cm w.e.": 10.0, "m w.e.": 1000.0}
LENGTH_FIELDS = {"coordinate_uncertainty", "lower_bound", "upper_bound"}


def detect(path: Path) -> bool:
    return False  # plain CSV needs --mapping


def read_mapping(path: Path) -> dict:
    import yaml
    try:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EconetError("mapping file not found", path=path) from None
    except yaml.YAMLError as exc:
        raise EconetError(f"not valid YAML: {str(exc).splitlines()[0]}", path=path) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise EconetError("a mapping needs `columns:` (source column -> hub field)", path=path, field="columns")
    rtype = spec.setdefault("record_type", "observation")
    if rtype not in FIELDS:
        raise EconetError(f"unknown record_type {rtype!r} (one of: {', '.join(FIELDS)})", path=path,
                          field="record_type")
    for col, fld in spec["columns"].items():
        if fld not in FIELDS[rtype]:
            raise EconetError(f"unknown field {fld!r} for {rtype} (one of: {', '.join(sorted(FIELDS[rtype]))})",
                              path=path, field=str(col))
    for fld, unit in (spec.get("units") or {}).items():
        table = LENGTH if fld in LENGTH_FIELDS else MASS_BALANCE if fld == "value" else None
        if table is None or unit not in table:
            raise EconetError(f"unsupported unit {unit!r} for {fld!r}", path=path, field=f"units.{fld}")
    for fld in (spec.get("defaults") or {}):
        if fld not in FIELDS[rtype]:
            raise EconetError(f"unknown field {fld!r} in defaults", path=path, field=f"defaults.{fld}")
    given = set(spec["columns"].values()) | set(spec.get("defaults") or {})
    for alternatives in REQUIRED[rtype]:
        if not given & set(alternatives):
            raise EconetError(f"{rtype} needs a column mapped to {' or '.join(alternatives)}", path=path,
                              field="columns")
    if ("x" in given) != ("y" in given) or ("lon" in given) != ("lat" in given):
        raise EconetError("map both coordinates (lon and lat, or x and y)", path=path, field="columns")
    return spec


def _reader(path: Path, spec: dict):
    enc = spec.get("encoding", "utf-8-sig")
    fh = open(path, newline="", encoding=enc, errors="strict")
    try:
        sample = fh.read(65536)
        fh.seek(0)
    except UnicodeDecodeError:
        fh.close()
        raise EconetError(f"not {enc} text (set `encoding:` in the mapping)", path=path) from None
    delim = spec.get("delimiter")
    if not delim:
        try:
            delim = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t|").delimiter
        except csv.Error:
            delim = ","
    reader = csv.reader(fh, delimiter=delim)
    return fh, reader


def _rows(path: Path, spec: dict):
    """(line, raw dict by field, extras, values) per data row."""
    rows = _raw_rows(path, spec)
    header = next(rows)
    idx = [(i, spec["columns"].get(h)) for i, h in enumerate(header)]
    defaults = spec.get("defaults") or {}
    for line, values in rows:
        rec = dict(defaults)
        extra = {}
        for (i, fld), v in zip(idx, values):
            if fld:
                rec[fld] = v
            elif v != "":
                extra[header[i]] = v
        yield line, rec, extra, values


def _raw_rows(path: Path, spec: dict):
    """First the header, then (line, values) per non-blank data row."""
    blocks = _raw_chunks(path, spec)
    yield next(blocks)
    for block in blocks:
        yield from block


def _raw_chunks(path: Path, spec: dict, size: int = CHUNK):
    """First the header, then lists of up to `size` (line, values) of non-blank data rows (the fast path for
    observations: rows are read by the csv module in one call per chunk). `line` is the record's last line."""
    fh, reader = _reader(path, spec)
    with fh:
        try:
            header = next(reader)
        except StopIteration:
            raise EconetError("empty file", path=path) from None
        except UnicodeDecodeError:
            raise EconetError("cannot decode the header (set `encoding:` in the mapping)", path=path, row=1) from None
        missing = [c for c in spec["columns"] if c not in header]
        if missing:
            raise EconetError(f"column(s) named in the mapping are not in the file: {', '.join(map(str, missing))}",
                              path=path, row=1, field=str(missing[0]))
        yield header
        width = len(header)
        line = reader.line_num
        while True:
            try:
                block = list(islice(reader, size))
            except UnicodeDecodeError:
                raise EconetError("cannot decode text (set `encoding:` in the mapping)", path=path,
                                  row=reader.line_num + 1) from None
            if not block:
                return
            end = reader.line_num
            if end - line == len(block):  # one line per record (the usual case)
                lines = range(line + 1, end + 1)
            else:  # quoted values with line breaks: a record spans 1 + its breaks
                lines, n = [], line
                for values in block:
                    n += 1 + sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in values)
                    lines.append(n)
            line = end
            out = [(k, v) for k, v in zip(lines, block) if (v and v[0].strip()) or any(x.strip() for x in v)]
            for k, v in out:
                if len(v) != width:
                    raise EconetError(f"{len(v)} values for {width} columns", path=path, row=k)
            if out:
                yield out


class _Conv:
    """Per-field conversions of one mapping (units, times, coordinates)."""

    def __init__(self, spec: dict, path: Path):
        self.spec, self.path = spec, path
        self.units = spec.get("units") or {}
        self.fmt, self.tz = spec.get("date_format"), spec.get("timezone")
        crs = str(spec.get("crs", "EPSG:4326"))
        self.transform = None
        if crs.upper() not in ("EPSG:4326", "4326", "WGS84", "OGC:CRS84"):
            from econet.hub.spatial import source_transformer
            self.transform = source_transformer(crs)

    def num(self, rec, fld, line):
        v = number(rec.get(fld), path=self.path, row=line, field=self._col(fld))
        if v is not None and fld in self.units:
            table = LENGTH if fld in LENGTH_FIELDS else MASS_BALANCE
            v = v * table[self.units[fld]]
        return v

    def int(self, rec, fld, line):
        return integer(rec.get(fld), path=self.path, row=line, field=self._col(fld))

    def time(self, rec, fld, line):
        v = text(rec.get(fld))
        if v is None:
            return None, None
        try:
            return to_utc(v, self.fmt, self.tz)
        except (ValueError, KeyError) as exc:
            want = f"format {self.fmt!r}" if self.fmt else "ISO 8601 (or set date_format)"
            raise EconetError(f"not a date/time in {want}: {v!r}", path=self.path, row=line,
                              field=self._col(fld)) from None

    def date(self, rec, fld, line):
        t, _ = self.time(rec, fld, line)
        return t.date() if t else None

    def coords(self, recs: list[tuple[int, dict]]):
        """lon, lat lists (WGS84) for a chunk, from lon/lat or x/y columns in the mapping's CRS."""
        keys = ("x", "y") if "x" in self.spec["columns"].values() else ("lon", "lat")
        a = [self.num(r, keys[0], line) for line, r in recs]
        b = [self.num(r, keys[1], line) for line, r in recs]
        if self.transform is None:
            return a, b
        aa = np.array([np.nan if v is None else v for v in a])
        bb = np.array([np.nan if v is None else v for v in b])
        lon, lat = self.transform.transform(aa, bb)
        return ([None if not np.isfinite(v) else float(v) for v in lon],
                [None if not np.isfinite(v) else float(v) for v in lat])

    def coords_columns(self, ch: "_Chunk"):
        """Like `coords`, for a columnar chunk (vectorised parsing)."""
        keys = ("x", "y") if "x" in self.spec["columns"].values() else ("lon", "lat")
        a, b = ch.num(keys[0]), ch.num(keys[1])
        if self.transform is None:
            return a, b
        aa = np.array([np.nan if v is None else v for v in a])
        bb = np.array([np.nan if v is None else v for v in b])
        lon, lat = self.transform.transform(aa, bb)
        return ([None if not np.isfinite(v) else float(v) for v in lon],
                [None if not np.isfinite(v) else float(v) for v in lat])

    def _col(self, fld):
        cols = self.__dict__.get("_cols")
        if cols is None:
            cols = self._cols = {f: str(c) for c, f in self.spec["columns"].items()}
        return cols.get(fld, fld)


def load(ing: Ingest, path: Path, *, mapping: Path | None = None, **_options) -> dict:
    if mapping is None:
        raise EconetError("a plain CSV needs --mapping FILE (YAML: column -> field)", path=path)
    spec = read_mapping(mapping)
    conv = _Conv(spec, path)
    loader = {"observation": _observations, "sampling_event": _events, "site": _sites,
              "waterbird_count": _waterbirds, "glacier": _glaciers, "genotype": _genotypes}[spec["record_type"]]
    loader(ing, path, spec, conv)
    return {"source_format": f"csv:{spec['record_type']}"}


def _places(ing, conv, part, path):
    lon, lat = conv.coords([(line, r) for line, r, _, _ in part])
    return ing.places(lon, lat, [text(r.get("country_code")) for _, r, _, _ in part],
                      rows=[line for line, *_ in part], path=path)


def _offset_of(v: str) -> int | None:
    """UTC offset written at the end of an ISO 8601 time ('Z', '+08:00', '+0800'), else None."""
    if not v or len(v) < 11:
        return None
    if v[-1] in "Zz":
        return 0
    if v[-6] in "+-" and v[-3] == ":":
        return (1 if v[-6] == "+" else -1) * (int(v[-5:-3]) * 60 + int(v[-2:]))
    if v[-5] in "+-" and v[-4:].isdigit() and ("T" in v or " " in v) and v[-8] == ":":
        return (1 if v[-5] == "+" else -1) * (int(v[-4:-2]) * 60 + int(v[-2:]))
    return None


class _Chunk:
    """One chunk of CSV rows as columns, with vectorised conversions (the fast path for large files)."""

    def __init__(self, part, header, spec, conv, path):
        self.lines = [p[0] for p in part]
        self.rows = [p[1] for p in part]
        self.columns = list(zip(*self.rows))
        self.n = len(part)
        self.spec, self.conv, self.path = spec, conv, path
        self.index = {fld: header.index(col) for col, fld in spec["columns"].items()}
        self.defaults = spec.get("defaults") or {}
        self.unmapped = [(i, h) for i, h in enumerate(header) if h not in spec["columns"]]

    def raw(self, fld) -> list:
        i = self.index.get(fld)
        if i is not None:
            d = self.defaults.get(fld)
            col = self.columns[i]
            return list(col) if d is None else [v if v != "" else str(d) for v in col]
        if fld in self.defaults:
            return [str(self.defaults[fld])] * self.n
        return [None] * self.n

    def extras(self) -> list:
        """The unmapped columns of each row ({column: value}, empty values left out), as JSON text."""
        if not self.unmapped:
            return [None] * self.n
        names = [h for _, h in self.unmapped]
        cache: dict = {}
        out = []
        for values in zip(*(self.columns[i] for i, _ in self.unmapped)):
            hit = cache.get(values)
            if hit is None and values not in cache:
                d = {h: v for h, v in zip(names, values) if v != ""}
                hit = cache[values] = json_text(d) if d else None
            out.append(hit)
        return SqliteText(out)

    def text(self, fld) -> list:
        i = self.index.get(fld)
        if i is not None and self.defaults.get(fld) is None:  # the common case: a mapped column, no default
            return [v.strip() or None for v in self.columns[i]]
        return [(v.strip() or None) if v is not None else None for v in self.raw(fld)]

    def _fail(self, fld, i, what):
        raise EconetError(f"{what}: {self.raw(fld)[i]!r}", path=self.path, row=self.lines[i],
                          field=self.conv._col(fld))

    def num(self, fld) -> list:
        import pandas as pd
        vals = self.text(fld)
        if all(v is None for v in vals):
            return vals
        s = pd.Series(vals, dtype=object)
        out = pd.to_numeric(s, errors="coerce")
        bad = out.isna() & s.notna() & ~s.isin(["NA", "NaN", "nan", "na"])
        if bad.any():
            try:  # decimal commas
                fixed = pd.to_numeric(s.where(~bad, s[bad].str.replace(",", ".", regex=False)), errors="coerce")
            except Exception:
                fixed = out
            still = fixed.isna() & s.notna() & ~s.isin(["NA", "NaN", "nan", "na"])
            if still.any():
                self._fail(fld, int(np.flatnonzero(still.to_numpy())[0]), "not a number")
            out = fixed
        if fld in self.conv.units:
            table = LENGTH if fld in LENGTH_FIELDS else MASS_BALANCE
            out = out * table[self.conv.units[fld]]
        return [None if v != v else float(v) for v in out.tolist()]

    def int(self, fld) -> list:
        vals = self.num(fld)
        for i, v in enumerate(vals):
            if v is not None and v != int(v):
                self._fail(fld, i, "not a whole number")
        return [None if v is None else int(v) for v in vals]

    def time(self, fld, as_text: bool = False):
        """(UTC datetimes, offsets in minutes) for a time column, honouring date_format and timezone.

        `as_text`: the UTC times as SQLite storage text ('YYYY-MM-DD HH:MM:SS.ffffff'), converted per chunk."""
        import pandas as pd
        vals = self.text(fld)
        if all(v is None for v in vals):
            return vals, vals
        s = pd.Series(vals, dtype=object)
        fmt, tz = self.conv.fmt, self.conv.tz
        offs = [None] * self.n if fmt else [_offset_of(v) if v else None for v in vals]
        if fmt:
            local = pd.to_datetime(s, format=fmt, errors="coerce")
        else:
            with_off = pd.Series([o is not None for o in offs])
            local = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            if with_off.any():
                utc = pd.to_datetime(s[with_off], utc=True, format="ISO8601", errors="coerce").dt.tz_localize(None)
                local[with_off] = utc
            if (~with_off).any():
                local[~with_off] = pd.to_datetime(s[~with_off], format="ISO8601", errors="coerce")
        bad = local.isna() & s.notna()
        if bad.any():
            want = f"format {fmt!r}" if fmt else "ISO 8601 (or set date_format)"
            self._fail(fld, int(np.flatnonzero(bad.to_numpy())[0]), f"not a date/time in {want}")
        naive = [o is None for o in offs]
        utc = local.copy()
        if tz and any(naive):
            idx = pd.Series(naive)
            off = parse_offset_text(tz)
            if off is not None:
                utc[idx] = local[idx] - pd.Timedelta(minutes=off)
                offs = [off if n and v is not None else o for n, o, v in zip(naive, offs, vals)]
            else:
                aware = local[idx].dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
                conv_utc = aware.dt.tz_convert("UTC").dt.tz_localize(None)
                utc[idx] = conv_utc
                mins = ((local[idx] - conv_utc).dt.total_seconds() // 60)
                j = iter(mins.tolist())
                offs = [(None if (x := next(j)) != x else int(x)) if n else o for n, o in zip(naive, offs)]
        if as_text:
            txt = np.datetime_as_string(utc.to_numpy("datetime64[us]"), unit="us").tolist()
            return SqliteText([None if v == "NaT" else v.replace("T", " ", 1) for v in txt]), offs
        out = [None if v is pd.NaT or v != v else v.to_pydatetime() for v in utc.tolist()]
        return out, offs


def _observations(ing: Ingest, path: Path, spec: dict, conv: _Conv) -> None:
    events = None
    tcol = "time" if "time" in set(spec["columns"].values()) | set(spec.get("defaults") or {}) else "date"
    blocks = _raw_chunks(path, spec)
    header = next(blocks)
    size = path.stat().st_size
    with ing.bulk.pipeline(m.Observation):  # chunk k is written while chunk k+1 is parsed
        for k, part in enumerate(blocks):
            if k == 0:  # a large file: build the secondary indexes once at the end
                per_row = max(sum(len(v) for v in part[-1][1]) + len(part[-1][1]), 1)
                ing.defer_indexes(m.Observation, size // per_row)
            ch = _Chunk(part, header, spec, conv, path)
            lon, lat = conv.coords_columns(ch)
            pl = ing.places(lon, lat, ch.text("country_code"), rows=ch.lines, path=path)
            names = ch.text("scientific_name")
            indiv = ch.text("individual")
            sex = ch.text("sex")
            ev_keys = ch.text("event_id")
            t, off = ch.time(tcol, as_text=True)
            te, _ = ch.time("time_end", as_text=True)
            count = ch.int("count")
            uncertainty = ch.num("coordinate_uncertainty")
            hashes = ing.row_hashes("observation", ch.rows)
            # names seen before and known individuals need no database: the writer keeps going meanwhile
            lookups = ing.bulk.exclusive() if _needs_db(ing, names, indiv) else contextlib.nullcontext()
            with lookups:
                taxa = [ing.taxa.match(n) for n in names]
                inds = ing.individual_ids(indiv, taxa, sex)
                if any(ev_keys) and events is None:
                    events = ing.key_map(m.SamplingEvent, "event_key")
            basis = [v or "HumanObservation" for v in ch.text("basis_of_record")]
            otype = [v or "animal" for v in ch.text("observation_type")]
            cols = {"record_type": ["occurrence"] * ch.n, "occurrence_key": ch.text("occurrence_id"),
                    "scientific_name": names, "taxon_id": taxa, "count": count, "time_utc": t,
                    "time_offset_min": off, "time_end_utc": te, "individual_key": indiv,
                    "individual_id": [inds.get(k) for k in indiv], "sex": sex, "life_stage": ch.text("life_stage"),
                    "behaviour": ch.text("behaviour"), "locality": ch.text("locality"), "basis_of_record": basis,
                    "observation_type": otype, "event_id": [(events or {}).get(k) for k in ev_keys],
                    "coordinate_uncertainty_m": uncertainty, "source_row": ch.lines, "row_hash": hashes,
                    "attributes": ch.extras(), **pl}
            ing.insert_columns(m.Observation, cols)
            ing.tick(len(part), "observations")


def _needs_db(ing: Ingest, names: list, individuals: list) -> bool:
    """Whether matching this chunk's names and individuals may read or write the database."""
    cache = getattr(ing.taxa, "_cache", None)
    known = getattr(ing, "_individuals", None)
    if cache is None or known is None:
        return True
    return any(n not in cache for n in set(names) if n) or any(k not in known for k in set(individuals) if k)


def _sites_from(ing, keys_names_places):
    """Insert sites (key, name, lon, lat, country) not yet known; return key -> id."""
    new = {}
    for k, name, lon, lat, cc in keys_names_places:
        if k and k not in new:
            new[k] = (name, lon, lat, cc)
    if new:
        keys = list(new)
        pl = ing.places([new[k][1] for k in keys], [new[k][2] for k in keys], [new[k][3] for k in keys])
        ing.insert(m.Site, [{"site_key": k, "name": new[k][0], "row_hash": row_digest(["site", k]).hex(),
                             **{c: pl[c][i] for c in pl}} for i, k in enumerate(keys)])
    return ing.key_map(m.Site, "site_key")


def _sites(ing, path, spec, conv) -> None:
    for part in chunks(_rows(path, spec)):
        lon, lat = conv.coords([(line, r) for line, r, _, _ in part])
        pl = ing.places(lon, lat, [text(r.get("country_code")) for _, r, _, _ in part],
                        rows=[line for line, *_ in part], path=path)
        ing.insert(m.Site, [{"site_key": text(r.get("site")), "name": text(r.get("name")),
                             "coordinate_uncertainty_m": conv.num(r, "coordinate_uncertainty", line),
                             "source_row": line, "row_hash": ing.row_hash("site", values), "attributes": extra or None,
                             **{c: pl[c][i] for c in pl}} for i, (line, r, extra, values) in enumerate(part)])
        ing.tick(len(part), "sites")


def _events(ing, path, spec, conv) -> None:
    for part in chunks(_rows(path, spec)):
        pl = _places(ing, conv, part, path)
        sites = _sites_from(ing, [(text(r.get("site")), None, pl["lon"][i], pl["lat"][i], pl["country_code"][i])
                                  for i, (_, r, _, _) in enumerate(part)])
        rows = []
        for i, (line, r, extra, values) in enumerate(part):
            s, off = conv.time(r, "start", line)
            e, _ = conv.time(r, "end", line)
            rows.append({"event_key": text(r.get("event_id")), "parent_event_key": text(r.get("parent_event_id")),
                         "site_id": sites.get(text(r.get("site"))), "protocol": text(r.get("protocol")),
                         "start_utc": s, "end_utc": e, "offset_min": off, "effort": text(r.get("effort")),
                         "sample_size_value": conv.num(r, "sample_size_value", line),
                         "sample_size_unit": text(r.get("sample_size_unit")), "locality": text(r.get("locality")),
                         "coordinate_uncertainty_m": conv.num(r, "coordinate_uncertainty", line),
                         "source_row": line, "row_hash": ing.row_hash("event", values), "attributes": extra or None,
                         **{c: pl[c][i] for c in pl}})
        ing.insert(m.SamplingEvent, rows)
        ing.tick(len(part), "sampling events")


def _waterbirds(ing, path, spec, conv) -> None:
    has_xy = bool({"lon", "x"} & set(spec["columns"].values()))
    for part in chunks(_rows(path, spec)):
        if has_xy:
            lon, lat = conv.coords([(line, r) for line, r, _, _ in part])
        else:
            lon = lat = [None] * len(part)
        sites = _sites_from(ing, [(text(r.get("site")), text(r.get("site_name")), lon[i], lat[i],
                                   text(r.get("country_code"))) for i, (_, r, _, _) in enumerate(part)])
        rows = []
        for line, r, extra, values in part:
            name = text(r.get("scientific_name"))
            cnt = conv.int(r, "count", line)
            if cnt is not None and cnt < 0:
                raise EconetError(f"negative count {cnt}", path=path, row=line, field=conv._col("count"))
            rows.append({"site_id": sites.get(text(r.get("site"))), "date": conv.date(r, "date", line),
                         "taxon_id": ing.taxa.match(name), "scientific_name": name, "count": cnt,
                         "method": text(r.get("method")), "coverage": text(r.get("coverage")),
                         "observers": text(r.get("observers")), "source_row": line,
                         "row_hash": ing.row_hash("waterbird", values), "attributes": extra or None})
        ing.insert(m.WaterbirdCount, rows)
        ing.tick(len(part), "waterbird counts")


def glacier_id(ing: Ingest, *, wgms_id=None, glims_id=None, rgi_id=None, name=None, country=None, lon=None,
               lat=None) -> int:
    """The hub's id of a glacier, found by WGMS, RGI or GLIMS id (created if new; missing ids filled in)."""
    from sqlalchemy import insert, or_, select, update
    G = m.Glacier
    cache = ing.__dict__.setdefault("_glaciers", {})
    key = (wgms_id, rgi_id, glims_id, name)
    if key in cache:
        return cache[key]
    conds = []
    if wgms_id is not None:
        conds.append(G.wgms_id == wgms_id)
    if rgi_id:
        conds.append(G.rgi_id == rgi_id)
    if glims_id:
        conds.append(G.glims_id == glims_id)
    if not conds and name:
        conds.append(G.name == name)
    row = ing.conn.execute(select(G.__table__).where(or_(*conds))).first() if conds else None
    values = {"wgms_id": wgms_id, "glims_id": glims_id, "rgi_id": rgi_id, "name": name, "country_code": country,
              "lon": lon, "lat": lat}
    if row is None:
        gid = ing.conn.execute(insert(G).values(**values).returning(G.id)).scalar_one()
    else:
        gid = row.id
        fill = {k: v for k, v in values.items() if v is not None and getattr(row, k) is None}
        if fill:
            ing.conn.execute(update(G).where(G.id == gid).values(**fill))
    cache[key] = gid
    return gid


def _glaciers(ing, path, spec, conv) -> None:
    for part in chunks(_rows(path, spec)):
        rows = []
        for line, r, extra, values in part:
            gid = glacier_id(ing, wgms_id=conv.int(r, "wgms_id", line), glims_id=text(r.get("glims_id")),
                             rgi_id=text(r.get("rgi_id")), name=text(r.get("name")),
                             country=text(r.get("country_code")), lon=conv.num(r, "lon", line),
                             lat=conv.num(r, "lat", line))
            unit = text(r.get("unit")) or ("mm w.e." if "value" in conv.units else None)
            if "value" in conv.units:
                unit = "mm w.e."
            if unit is None:
                raise EconetError("glacier values need a unit (map a unit column, or set units.value or "
                                  "defaults.unit)", path=path, row=line, field="unit")
            rows.append({"glacier_id": gid, "variable": text(r.get("variable")), "year": conv.int(r, "year", line),
                         "period_start": text(r.get("period_start")), "period_end": text(r.get("period_end")),
                         "lower_bound_m": conv.num(r, "lower_bound", line),
                         "upper_bound_m": conv.num(r, "upper_bound", line), "value": conv.num(r, "value", line),
                         "unit": unit, "uncertainty": conv.num(r, "uncertainty", line),
                         "method": text(r.get("method")), "investigator": text(r.get("investigator")),
                         "source_row": line, "row_hash": ing.row_hash("glacier", values), "attributes": extra or None})
        ing.insert(m.GlacierObservation, rows)
        ing.tick(len(part), "glacier observations")


def _genotypes(ing, path, spec, conv) -> None:
    from econet.hub.ingest.genotype_import import store_genotypes
    import pandas as pd
    recs = []
    for line, r, extra, values in _rows(path, spec):
        recs.append({"sample": text(r.get("sample")), "population": text(r.get("population")),
                     "locus": text(r.get("locus")), "allele1": text(r.get("allele1")),
                     "allele2": text(r.get("allele2")), "individual": text(r.get("individual")),
                     "scientific_name": text(r.get("scientific_name")), "line": line})
    store_genotypes(ing, pd.DataFrame(recs), path)
