"""Simulated collared animals and camera-trap detections with known truth, for tests, the demo and benchmarks.

Animals move as a biased correlated random walk around a home-range centre (Ornstein-Uhlenbeck pull,
Dunn & Gipson 1977), in an equal-area CRS centred on the study area; output is lon/lat, as Movebank
exports it. Known errors (duplicate fixes, GPS spikes, fixes before deployment) can be injected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HUNCHUN = (130.5, 42.5, 131.5, 43.8)  # lon/lat box around Hunchun and Land of the Leopard


def simulate_tracks(n_individuals: int = 10, n_fixes: int = 500, *, interval: str = "3h",
                    centres_lonlat: np.ndarray | None = None, bounds: tuple = HUNCHUN,
                    home_sd_m: float = 8000.0, step_sd_m: float = 1500.0, pull: float = 0.05,
                    species: str = "Panthera pardus orientalis", start: str = "2015-01-01",
                    seed: int = 0) -> pd.DataFrame:
    """Fixes of animals ranging around centres (random in `bounds` unless given); lon/lat, UTC times."""
    from pyproj import Transformer

    from econet.geo.crs import equal_area_crs

    rng = np.random.default_rng(seed)
    crs = equal_area_crs(bounds)
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    if centres_lonlat is None:
        centres_lonlat = np.column_stack([rng.uniform(bounds[0], bounds[2], n_individuals),
                                          rng.uniform(bounds[1], bounds[3], n_individuals)])
    cx, cy = to_m.transform(centres_lonlat[:, 0], centres_lonlat[:, 1])
    n = n_fixes
    x = np.empty((n_individuals, n))
    y = np.empty((n_individuals, n))
    x[:, 0] = cx + rng.normal(0, home_sd_m / 2, n_individuals)
    y[:, 0] = cy + rng.normal(0, home_sd_m / 2, n_individuals)
    heading = rng.uniform(0, 2 * np.pi, n_individuals)
    for t in range(1, n):
        heading = heading + rng.normal(0, 0.8, n_individuals)
        step = np.abs(rng.normal(step_sd_m, step_sd_m / 2, n_individuals))
        x[:, t] = x[:, t - 1] + step * np.cos(heading) + pull * (cx - x[:, t - 1])
        y[:, t] = y[:, t - 1] + step * np.sin(heading) + pull * (cy - y[:, t - 1])
    lon, lat = to_ll.transform(x.ravel(), y.ravel())
    times = pd.date_range(start, periods=n, freq=interval, tz="UTC")
    return pd.DataFrame({
        "individual": np.repeat([f"{species.split()[1][:3].upper()}{i + 1:04d}" for i in range(n_individuals)], n),
        "species": species,
        "timestamp": np.tile(times, n_individuals),
        "lon": lon, "lat": lat,
    })


def inject_errors(fixes: pd.DataFrame, *, n_duplicates: int = 0, n_spikes: int = 0, spike_km: float = 300.0,
                  seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """Add exact duplicate fixes and far-off GPS spikes (away from track ends); returns the table and the truth."""
    rng = np.random.default_rng(seed)
    f = fixes.reset_index(drop=True).copy()
    f["true_flag"] = ""
    inner = np.flatnonzero((f["individual"] == f["individual"].shift(1)) & (f["individual"] == f["individual"].shift(-1)))
    spikes = rng.choice(inner, size=n_spikes, replace=False) if n_spikes else np.array([], int)
    ang = rng.uniform(0, 2 * np.pi, len(spikes))
    f.loc[spikes, "lon"] += spike_km / 111.0 / np.cos(np.radians(f.loc[spikes, "lat"])) * np.cos(ang)
    f.loc[spikes, "lat"] += spike_km / 111.0 * np.sin(ang)
    f.loc[spikes, "true_flag"] = "speed"
    rest = np.setdiff1d(np.arange(len(f)), spikes)
    dups = rng.choice(rest, size=n_duplicates, replace=False) if n_duplicates else np.array([], int)
    d = f.loc[dups].copy()
    d["true_flag"] = "duplicate"
    f = pd.concat([f, d]).sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True)
    return f, {"spikes": len(spikes), "duplicates": len(dups)}


def to_movebank(fixes: pd.DataFrame) -> pd.DataFrame:
    """The fixes as a Movebank event table (standard attribute names)."""
    return pd.DataFrame({
        "event-id": np.arange(1, len(fixes) + 1),
        "visible": "true",
        "timestamp": fixes["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S.000"),
        "location-long": fixes["lon"].round(7),
        "location-lat": fixes["lat"].round(7),
        "sensor-type": "gps",
        "individual-taxon-canonical-name": fixes["species"],
        "tag-local-identifier": "T" + fixes["individual"].astype(str),
        "individual-local-identifier": fixes["individual"],
        "study-name": "econet simulated collars",
    })


def to_movebank_reference(individuals, species: str, deploy_on, deploy_off) -> pd.DataFrame:
    """A Movebank reference data table: one deployment per animal (tag 'T' + animal id), windows given as
    'YYYY-MM-DD' strings ('' = open)."""
    ind = [str(i) for i in individuals]

    def stamp(v):
        return f"{v} 00:00:00.000" if v else ""
    return pd.DataFrame({"animal-id": ind, "tag-id": ["T" + i for i in ind], "animal-taxon": species,
                         "deploy-on-date": [stamp(v) for v in deploy_on],
                         "deploy-off-date": [stamp(v) for v in deploy_off]})
