"""A SIMULATED Amur tiger population on both sides of the China-Russia border, with known truth, written as a
Camtrap DP package (for the demo, tests and benchmarks). Not real data: every row says so.

Activity centres are a homogeneous Poisson process of density `D_per_100km2` on land (the shipped country
polygons) around a grid of cameras straddling the border east of Hunchun; each camera-day an animal is
photographed with probability g0 exp(-d^2 / 2 sigma^2) (half-normal, proximity detectors, as secr's
sim.capthist). The package's deployments are the cameras; its observations the photographs, with
`individualID`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TAXON = "Panthera tigris altaica"
CRS = "EPSG:32652"  # UTM 52N: the demo region


@dataclass
class TigerTruth:
    D_per_100km2: float
    sigma_m: float
    g0: float
    days: int
    n_animals: int              # activity centres simulated on the simulation mask
    n_detected: int
    cameras: int
    detected_in_both: int       # detected animals photographed in both countries


def simulate_package(folder: str | Path, *, D_per_100km2: float = 1.5, sigma_m: float = 5000.0, g0: float = 0.05,
                     days: int = 75, centre=(131.22, 43.30), grid: int = 8, spacing_m: float = 4000.0,
                     seed: int = 2022) -> TigerTruth:
    """Write the package to `folder`; return the truth."""
    import shapely
    from pyproj import Transformer

    from econet.analytics import scr, scr_models
    from econet.hub import spatial
    from econet.hub.camtrap import write_package

    rng = np.random.default_rng(seed)
    to_m = Transformer.from_crs(4326, CRS, always_xy=True)
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    cx, cy = to_m.transform(*centre)
    off = (np.arange(grid) - (grid - 1) / 2) * spacing_m
    gx, gy = np.meshgrid(cx + off, cy + off)
    lon, lat = to_ll.transform(gx.ravel(), gy.ravel())
    lon, lat = np.round(lon, 5), np.round(lat, 5)
    cc = spatial.country_of(lon, lat)
    keep = np.isin(cc.astype(str), ["CN", "RU"])
    lon, lat, cc = lon[keep], lat[keep], cc[keep]
    tx, ty = to_m.transform(lon, lat)
    traps = scr.Traps([f"TIG-C{i + 1:02d}" for i in range(len(lon))], np.c_[tx, ty], detector="proximity")
    # land around the cameras (activity centres do not live at sea), 6 sigma beyond the outer cameras
    sim_mask = scr.make_mask(traps.xy, buffer=6 * sigma_m, spacing=1000.0, kind="traprect")
    land = shapely.union_all(spatial.countries().geometry.values)
    mlon, mlat = to_ll.transform(sim_mask.xy[:, 0], sim_mask.xy[:, 1])
    on_land = shapely.contains_xy(land, mlon, mlat)
    sim_mask = scr.Mask(sim_mask.xy[on_land], sim_mask.spacing)
    centres = scr_models.simulate_population(sim_mask, D_per_100km2 / 1e4, rng)
    ids = [f"PTA-SIM-{i + 1:03d}" for i in range(len(centres))]
    ch, _ = scr_models.simulate_captures(traps, centres, days, g0, sigma_m, rng, detector="proximity", ids=ids)

    deps, obs = [], []
    starts = {}
    for k, (name, x, y, c) in enumerate(zip(traps.ids, lon, lat, cc)):
        tz = dt.timezone(dt.timedelta(hours=10 if c == "RU" else 8))
        start = dt.datetime(2022, 3, 1, tzinfo=dt.UTC).astimezone(tz)
        starts[k] = start
        deps.append({"deploymentID": name, "locationID": name, "locationName": f"tiger camera {name} ({c})",
                     "latitude": float(y), "longitude": float(x), "coordinateUncertainty": 30,
                     "deploymentStart": start.isoformat(), "deploymentEnd": (start + dt.timedelta(days=days)).isoformat(),
                     "cameraModel": "Reconyx-HF2X", "deploymentComments": "SIMULATED deployment (econet demo)"})
    seen: dict[str, set] = {}
    for j, (i, s, k) in enumerate(zip(ch.ind, ch.occ, ch.trap)):
        t0 = starts[int(k)] + dt.timedelta(days=int(s), seconds=int(rng.integers(3600, 82800)))
        animal = str(ch.animal_ids[i])
        seen.setdefault(animal, set()).add(str(cc[int(k)]))
        obs.append({"observationID": f"TIG-O{j + 1:05d}", "deploymentID": traps.ids[int(k)],
                    "eventID": f"TIG-E{j + 1:05d}", "eventStart": t0.isoformat(),
                    "eventEnd": (t0 + dt.timedelta(seconds=20)).isoformat(), "observationLevel": "event",
                    "observationType": "animal", "scientificName": TAXON, "count": 1, "individualID": animal,
                    "classificationMethod": "human", "observationComments": "SIMULATED record (econet demo)"})
    write_package(folder, {"deployments": deps, "observations": obs}, {
        "name": "tiger-scr-simulated", "title": "SIMULATED Amur tiger camera-trap survey across the China-Russia border",
        "created": "2024-01-01T00:00:00Z",
        "contributors": [{"title": "Sino-Russian tiger and leopard platform (demo)", "role": "rightsHolder"}],
        "licenses": [{"name": "CC-BY-4.0", "scope": "data"}, {"name": "CC-BY-4.0", "scope": "media"}],
        "bibliographicCitation": "econet demo (2024). SIMULATED Amur tiger detections with known density. Not real data.",
        "project": {"title": "Amur tiger SCR survey (simulated)", "samplingDesign": "systematicRandom",
                    "captureMethod": ["activityDetection"], "individualAnimals": True, "observationLevel": ["event"]},
        "spatial": {"type": "Polygon", "coordinates": [[[float(lon.min()), float(lat.min())],
                                                        [float(lon.max()), float(lat.min())],
                                                        [float(lon.max()), float(lat.max())],
                                                        [float(lon.min()), float(lat.max())],
                                                        [float(lon.min()), float(lat.min())]]]},
        "temporal": {"start": "2022-03-01", "end": (dt.date(2022, 3, 1) + dt.timedelta(days=days)).isoformat()},
        "taxonomic": [{"scientificName": TAXON}],
    })
    return TigerTruth(D_per_100km2, sigma_m, g0, days, len(centres), int(ch.n), len(traps.ids),
                      sum(len(v) > 1 for v in seen.values()))
