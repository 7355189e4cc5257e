"""SIMULATED camera-trap observations on both sides of the China-Russia border (Land of the Leopard / Hunchun
area, 130.5-131.5 E, 42.5-43.8 N) for the demo, tests and benchmarks. Not real data: every row says so.

Stations are scattered over the box; each record is a species detected at a station at a local time
(China +08:00, Russia +10:00, written with its offset), with a count and, for tigers and leopards, an
individual id (some individuals roam both sides of the border).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

BBOX = (130.5, 42.5, 131.5, 43.8)
SPECIES = [  # (name, weight, individually identifiable)
    ("Capreolus pygargus", 0.28, False), ("Sus scrofa", 0.20, False), ("Cervus nippon", 0.13, False),
    ("Cervus canadensis", 0.05, False), ("Panthera tigris altaica", 0.05, True),
    ("Panthera pardus orientalis", 0.06, True), ("Lynx lynx", 0.02, False), ("Ursus thibetanus", 0.03, False),
    ("Nyctereutes procyonoides", 0.04, False), ("Prionailurus bengalensis", 0.05, False),
    ("Martes zibellina", 0.04, False), ("Lepus mandshuricus", 0.05, False),
]
COLUMNS = ["record_id", "station", "species", "local_time", "longitude", "latitude", "uncertainty_m", "n",
           "animal_id", "sex", "age_class", "remarks"]
MAPPING = {
    "record_type": "observation",
    "columns": {"record_id": "occurrence_id", "station": "locality", "species": "scientific_name",
                "local_time": "time", "longitude": "lon", "latitude": "lat", "uncertainty_m": "coordinate_uncertainty",
                "n": "count", "animal_id": "individual", "sex": "sex", "age_class": "life_stage"},
    "defaults": {"basis_of_record": "MachineObservation"},
}


def stations(n: int = 60, seed: int = 1, countries: tuple[str, ...] = ("CN", "RU")) -> list[tuple[str, float, float, str]]:
    """(station id, lon, lat, country) scattered over the land of the demo box (China and Russia only)."""
    from econet.hub.spatial import country_of
    rng = np.random.default_rng(seed)
    out: list[tuple[str, float, float, str]] = []
    while len(out) < n:
        lon = rng.uniform(BBOX[0], BBOX[2], 2 * n).round(5)
        lat = rng.uniform(BBOX[1], BBOX[3], 2 * n).round(5)
        for x, y, c in zip(lon, lat, country_of(lon, lat)):
            if c in countries and len(out) < n:
                out.append((f"{c}-CT{len(out) + 1:03d}", float(x), float(y), c))
    return out


def rows(n: int, seed: int = 7, n_stations: int = 60, prefix: str = "sim",
         start: dt.date = dt.date(2018, 1, 1), years: int = 6):
    """Yield `n` simulated observation rows (dicts with COLUMNS)."""
    rng = np.random.default_rng(seed)
    st = stations(n_stations, seed=1)
    names = [s[0] for s in SPECIES]
    w = np.array([s[1] for s in SPECIES])
    w = w / w.sum()
    ident = {s[0]: s[2] for s in SPECIES}
    t0 = dt.datetime(start.year, start.month, start.day)
    block = 100000
    made = 0
    while made < n:
        k = min(block, n - made)
        si = rng.integers(0, len(st), k)
        sp = rng.choice(len(names), k, p=w)
        secs = rng.integers(0, years * 365 * 86400, k)
        cnt = rng.choice([1, 1, 1, 1, 2, 2, 3], k)
        ind = rng.integers(1, 13, k)
        sex = rng.choice(["female", "male", ""], k)
        age = rng.choice(["adult", "adult", "subadult", "juvenile"], k)
        for j in range(k):
            s = st[si[j]]
            name = names[sp[j]]
            off = 10 if s[3] == "RU" else 8
            local = t0 + dt.timedelta(seconds=int(secs[j]) + off * 3600)
            tz = dt.timezone(dt.timedelta(hours=off))
            animal = ""
            if ident[name]:
                animal = f"{'PTA' if 'tigris' in name else 'PPO'}-{int(ind[j]):02d}"
            yield {"record_id": f"{prefix}-{made + j + 1}", "station": s[0], "species": name,
                   "local_time": local.replace(tzinfo=tz).isoformat(), "longitude": s[1], "latitude": s[2],
                   "uncertainty_m": 30, "n": 1 if animal else int(cnt[j]), "animal_id": animal,
                   "sex": sex[j] if animal else "", "age_class": age[j], "remarks": "SIMULATED record (econet demo)"}
        made += k


def write_csv(path: str | Path, n: int, **kwargs) -> Path:
    """Write `n` simulated rows to a CSV and the matching YAML mapping beside it (<path>.mapping.yaml)."""
    import yaml
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows(n, **kwargs):
            w.writerow(r)
    mapping = path.with_suffix(".mapping.yaml")
    mapping.write_text(yaml.safe_dump(MAPPING, sort_keys=False))
    return mapping
