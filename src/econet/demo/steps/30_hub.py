"""Demo step 30: the shared observation hub filled with the demo region's data.

Two partners report SIMULATED camera-trap records of tigers, leopards and their prey on both sides of the
China-Russia border (130.5-131.5 E, 42.5-43.8 N): the joint platform's cross-border camera grid as a plain CSV
with a YAML mapping, a Russian national park as a Camtrap DP package. Some detections are the same animal seen by both (linked, not
dropped). The official Camtrap DP example is imported too when present. Outputs: CSV and GeoPackage of
everything within 10 km of the border, a Darwin Core Archive and a Camtrap DP package of the Russian dataset.
"""

from __future__ import annotations

ORDER = 30
TITLE = "Observation hub: two partners' camera traps across the China-Russia border (simulated)"


def _camtrap_package(folder, n_obs: int = 400, seed: int = 3):
    """A small Camtrap DP package of SIMULATED Russian deployments near the border."""
    import csv
    import datetime as dt
    import json

    import numpy as np

    from econet.hub.camtrap import BASE_URL, VERSION
    from econet.hub.simulate import SPECIES

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    deps = []
    for i in range(12):
        lon, lat = float(rng.uniform(131.0, 131.45)), float(rng.uniform(42.7, 43.6))
        start = dt.datetime(2021, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=10))) + dt.timedelta(days=int(i * 3))
        deps.append({"deploymentID": f"LOL-D{i + 1:02d}", "locationID": f"LOL-L{i + 1:02d}",
                     "locationName": f"Land of the Leopard cam {i + 1}", "latitude": round(lat, 5),
                     "longitude": round(lon, 5), "coordinateUncertainty": 30,
                     "deploymentStart": start.isoformat(), "deploymentEnd": (start + dt.timedelta(days=330)).isoformat(),
                     "cameraModel": "Reconyx-HF2X", "deploymentComments": "SIMULATED deployment (econet demo)"})
    names = [s[0] for s in SPECIES]
    w = np.array([s[1] for s in SPECIES])
    obs = []
    for j in range(n_obs):
        d = deps[int(rng.integers(0, len(deps)))]
        t0 = dt.datetime.fromisoformat(d["deploymentStart"]) + dt.timedelta(seconds=int(rng.integers(0, 320 * 86400)))
        sp = names[int(rng.choice(len(names), p=w / w.sum()))]
        ind = f"{'PTA' if 'tigris' in sp else 'PPO'}-{int(rng.integers(1, 8)):02d}" if "Panthera" in sp else ""
        obs.append({"observationID": f"LOL-O{j + 1:05d}", "deploymentID": d["deploymentID"],
                    "eventID": f"LOL-E{j + 1:05d}", "eventStart": t0.isoformat(),
                    "eventEnd": (t0 + dt.timedelta(seconds=30)).isoformat(), "observationLevel": "event",
                    "observationType": "animal", "scientificName": sp, "count": 1 if ind else int(rng.integers(1, 4)),
                    "individualID": ind, "classificationMethod": "human",
                    "observationComments": "SIMULATED record (econet demo)"})
    for name, rows in (("deployments", deps), ("media", []), ("observations", obs)):
        from econet.hub.camtrap import schema
        cols = [f["name"] for f in schema(name)["fields"]]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            wr = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            wr.writeheader()
            for r in rows:
                wr.writerow(r)
    lons = [d["longitude"] for d in deps]
    lats = [d["latitude"] for d in deps]
    package = {
        "resources": [{"name": t, "path": f"{t}.csv", "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": BASE_URL.format(version=VERSION, name=f"{t}-table-schema.json")}
                      for t in ("deployments", "media", "observations")],
        "profile": BASE_URL.format(version=VERSION, name="camtrap-dp-profile.json"),
        "name": "lotl-simulated", "title": "SIMULATED camera traps, Land of the Leopard NP (econet demo)",
        "created": "2024-01-01T00:00:00Z",
        "contributors": [{"title": "Land of the Leopard NP (demo)", "role": "rightsHolder"}],
        "licenses": [{"name": "CC-BY-4.0", "scope": "data"}, {"name": "CC-BY-4.0", "scope": "media"}],
        "bibliographicCitation": "econet demo (2024). SIMULATED camera-trap records. Not real data.",
        "project": {"title": "Amur tiger and leopard monitoring (simulated)", "samplingDesign": "systematicRandom",
                    "captureMethod": ["activityDetection"], "individualAnimals": True, "observationLevel": ["event"]},
        "spatial": {"type": "Polygon", "coordinates": [[[min(lons), min(lats)], [max(lons), min(lats)],
                                                        [max(lons), max(lats)], [min(lons), max(lats)],
                                                        [min(lons), min(lats)]]]},
        "temporal": {"start": "2021-01-01", "end": "2022-01-31"},
        "taxonomic": [{"scientificName": n} for n in sorted({o["scientificName"] for o in obs})],
    }
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2))
    return folder


def run(ctx) -> dict:
    from pathlib import Path

    from econet.hub.export import export_dataset
    from econet.hub.ingest import import_path
    from econet.hub.query import ObservationFilter
    from econet.hub.simulate import write_csv
    from econet.hub.stats import hub_stats
    from econet.hub.db import open_hub

    work = Path(ctx.out) / "hub"
    work.mkdir(parents=True, exist_ok=True)
    mapping = write_csv(work / "cross_border_cameras.csv", 3000, n_stations=80)
    r1 = import_path(ctx.db_url, work / "cross_border_cameras.csv", dataset="amur-cross-border-cameras-sim",
                     org="Sino-Russian tiger and leopard platform (demo)", country="CN", mapping=mapping,
                     dataset_meta={"license": "CC-BY-4.0",
                                   "title": "SIMULATED camera traps on both sides of the border (econet demo)"})
    r2 = import_path(ctx.db_url, _camtrap_package(work / "lotl_camtrap_dp"), dataset="lotl-cameras-sim",
                     org="Land of the Leopard NP (demo)", country="RU", link_window_s=6 * 3600,
                     link_distance_m=20000)
    summary = {"cn_rows": r1["added"].get("observations", 0), "ru_rows": r2["added"].get("observations", 0),
               "duplicate_links": (r1.get("duplicate_links") or 0) + (r2.get("duplicate_links") or 0)}
    try:
        from importlib import resources  # noqa: F401
        example = Path(__file__).resolve().parents[4] / "tests" / "data" / "camtrap-dp"
        if example.is_dir():
            r3 = import_path(ctx.db_url, example, dataset="camtrap-dp-example", org="INBO")
            summary["camtrap_example_rows"] = r3["added"].get("observations", 0)
    except Exception as exc:  # the official example is optional in the demo
        summary["camtrap_example"] = f"skipped: {exc}"
    near = ObservationFilter(border=("CN", "RU"), border_distance_m=10000)
    e1 = export_dataset(ctx.db_url, "csv", work / "within_10km_of_border.csv", filters=near)
    export_dataset(ctx.db_url, "gpkg", work / "within_10km_of_border.gpkg",
                   filters=ObservationFilter(border=("CN", "RU"), border_distance_m=10000))
    export_dataset(ctx.db_url, "dwca", work / "lotl-cameras-sim-dwca.zip", dataset="lotl-cameras-sim")
    export_dataset(ctx.db_url, "camtrap-dp", work / "lotl-cameras-sim-camtrap-dp", dataset="lotl-cameras-sim")
    for f in ("within_10km_of_border.csv", "within_10km_of_border.gpkg", "lotl-cameras-sim-dwca.zip"):
        ctx.record(work / f)
    ctx.record(work / "lotl-cameras-sim-camtrap-dp" / "datapackage.json")
    stats = hub_stats(open_hub(ctx.db_url))
    summary.update(within_10km_of_border=e1["records"], observations=stats["tables"]["observations"],
                   by_country=stats["observations_by_country"], datasets=len(stats["datasets"]))
    if not ctx.quiet:
        print(f"hub: {stats['tables']['observations']} observations in {len(stats['datasets'])} datasets; "
              f"by country {stats['observations_by_country']}; {summary['duplicate_links']} duplicate links; "
              f"{e1['records']} within 10 km of the China-Russia border")
    ctx.results["hub"] = summary
    return summary
