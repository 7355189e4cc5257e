"""A small SIMULATED multi-partner hub with every sharing setting, for the demo, tests and benchmarks.

Partners: "Land of the Leopard NP" (RU, owner of the sensitive data), "Hunchun Tiger-Leopard NR" (CN, named
partner), "Altai Alliance Institute" (alliance member, not a partner), "Outside Consultancy" (not in the
alliance). The Amur leopard is sensitive in Russia (0.1 degree, Chapman category 2) and the Amur tiger is
withheld in Russia (category 1); both are recorded at den/camera sites that also hold other species.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

OWNER = "Land of the Leopard NP"
PARTNER = "Hunchun Tiger-Leopard NR"
ALLIANCE = "Altai Alliance Institute"
OUTSIDER = "Outside Consultancy"

#: a place the tests search every response for: exact coordinates and locality text of protected records
SECRET_SITES = [
    {"lon": 131.123457, "lat": 43.234568, "locality": "Leopard den at Kedrovaya creek 7 km NE of ranger hut"},
    {"lon": 131.376541, "lat": 43.498765, "locality": "Tiger kill site Barsovy ridge saddle"},
]
PRIVATE_SITE = {"lon": 131.611119, "lat": 43.711113, "locality": "Private station Zolotoi spring"}
EMBARGO_SITE = {"lon": 131.722221, "lat": 43.822229, "locality": "Embargoed plot Chernaya rechka"}
ALLIANCE_SITE = {"lon": 131.833337, "lat": 43.933331, "locality": "Alliance plot Sosnovy"}
PUBLIC_SITE = {"lon": 130.944443, "lat": 42.955557, "locality": "Tumen estuary crane marsh"}

#: a Siberian crane nest (the crane is sensitive in China, 0.1 degree): a ring encounter and a count there
CRANE_NEST = {"lon": 131.2345, "lat": 43.3456, "locality": "Crane nest islet Mishan marsh"}

MAPPING = """record_type: observation
columns: {id: occurrence_id, species: scientific_name, date: time, lon: lon, lat: lat, country: country_code,
          locality: locality, n: count, animal: individual}
"""

# dataset -> (visibility, rows); rows: (species, site, country, n, individual)
DATASETS = {
    "leopard-cams": ("partners", [("Panthera pardus orientalis", SECRET_SITES[0], "RU", 1, "PPO-F12"),
                                  ("Capreolus pygargus", SECRET_SITES[0], "RU", 2, ""),
                                  ("Panthera tigris altaica", SECRET_SITES[1], "RU", 1, "PTA-M3"),
                                  ("Sus scrofa", SECRET_SITES[1], "RU", 4, ""),
                                  ("Cervus canadensis", PUBLIC_SITE | {"lon": 131.05, "lat": 43.05,
                                                                        "locality": "Road 12 km"}, "RU", 3, "")]),
    "crane-counts": ("public", [("Grus japonensis", PUBLIC_SITE, "CN", 6, "")]),
    "private-stations": ("owner", [("Capreolus pygargus", PRIVATE_SITE, "RU", 1, "")]),
    "embargoed-survey": ("public", [("Sus scrofa", EMBARGO_SITE, "RU", 2, "")]),
    "alliance-plots": ("alliance", [("Cervus canadensis", ALLIANCE_SITE, "RU", 5, "")]),
}


def build(db, folder: str | Path, *, embargo_until: dt.date = dt.date(2099, 1, 1)) -> dict:
    """Create the partners, users (one per role), datasets, sensitive taxa; return names and tokens."""
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path

    engine = open_hub(db) if isinstance(db, (str, type(None))) else db
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    with engine.begin() as conn:
        accounts.add_org(conn, OWNER, country="RU")
        accounts.add_org(conn, PARTNER, country="CN")
        accounts.add_org(conn, ALLIANCE, country="MN")
        accounts.add_org(conn, OUTSIDER, country="KZ", alliance_member=False)
    for i, (name, (vis, rows)) in enumerate(DATASETS.items()):
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "species", "date", "lon", "lat", "country", "locality", "n", "animal"])
            for j, (sp, site, cc, n, ind) in enumerate(rows):
                w.writerow([f"{name}-{j + 1}", sp, f"2023-0{1 + j % 9}-1{j % 9}", site["lon"], site["lat"], cc,
                            site["locality"], n, ind])
        import_path(engine, path, dataset=name, org=OWNER, fmt="csv", mapping=folder / "mapping.yaml",
                    dataset_meta={"license": "CC-BY-NC-4.0",
                                  "citation": f"{OWNER} ({2023}). {name}. econet hub (SIMULATED demo data)."})
    _genetic_samples(engine, folder)
    users = {}
    with engine.begin() as conn:
        sharing.set_sharing(conn, "leopard-cams", visibility="partners", partners=[PARTNER])
        for name, (vis, _) in DATASETS.items():
            if name != "leopard-cams":
                sharing.set_sharing(conn, name, visibility=vis)
        sharing.set_sharing(conn, "embargoed-survey", embargo_until=embargo_until)
        sharing.set_sensitive(conn, "Panthera pardus orientalis", "RU", "0.1", reason="poaching risk at dens")
        sharing.set_sensitive(conn, "Panthera tigris altaica", "RU", "withheld", reason="poaching risk at kills")
        plan = {"admin": (None, None), "owner_manager": (OWNER, "data_manager"), "owner_viewer": (OWNER, "viewer"),
                "owner_contributor": (OWNER, "contributor"), "partner_viewer": (PARTNER, "viewer"),
                "partner_manager": (PARTNER, "data_manager"), "alliance_viewer": (ALLIANCE, "viewer"),
                "outsider_admin": (OUTSIDER, "admin")}
        for user, (org, role) in plan.items():
            accounts.add_user(conn, user, "correct horse battery", admin=user == "admin")
            if org:
                accounts.set_role(conn, user, org, role)
            users[user] = accounts.create_token(conn, user, name="sample", days=30)["token"]
    add_tracking_and_monitoring(engine, folder, embargo_until=embargo_until)
    add_registry_and_alerts(engine, folder)
    return {"engine": engine, "tokens": users, "folder": folder}


#: EURING 2020 record of a Siberian crane ringed at the crane nest (scheme RUM; decimal lat/lon at the end)
CRANE_RING = ("RUM|A0|....SC0042|0|1|ZZ|04400|04400|N|0|Z|U|F|F|2|2|U|--|--|-|12062023|0|----|DECK|"
              "...............|G|8|20|0|3|00000|000|00000||||||||||||||||||||||||||||{lat:.4f}|{lon:.4f}||")
WGMS_MAPPING = """record_type: glacier
columns: {id: wgms_id, name: name, lon: lon, lat: lat, year: year, var: variable, value: value, unit: unit}
"""


def add_tracking_and_monitoring(engine, folder: Path, *, embargo_until: dt.date = dt.date(2099, 1, 1)) -> None:
    """Issue 7/8 records for the leak walk: collared leopard and tiger with fixes at the den and kill site
    (public dataset: generalized / withheld for the public), an embargoed collar at the embargoed plot, a
    ring encounter and a count of the sensitive Siberian crane at its nest, and a private glacier series at
    the private station."""
    from econet.hub import sharing
    from econet.hub.ingest import import_path

    leo, tiger = SECRET_SITES
    fixes = [("PPO-F12", "Panthera pardus orientalis", leo["lon"], leo["lat"]),
             ("PPO-F12", "Panthera pardus orientalis", 131.13, 43.24),  # China
             ("PPO-F12", "Panthera pardus orientalis", 131.45, 43.40),  # Russia: sensitive there
             ("PTA-M3", "Panthera tigris altaica", tiger["lon"], tiger["lat"]),
             ("PTA-M3", "Panthera tigris altaica", 131.38, 43.50)]
    header = "event-id,timestamp,location-long,location-lat,individual-local-identifier,tag-local-identifier," \
             "individual-taxon-canonical-name,sensor-type\n"

    def movebank(name, rows):
        path = folder / f"{name}.csv"
        path.write_text(header + "".join(f"{i + 1},2023-05-0{1 + i // 3} {(i % 3) * 6:02d}:00:00.000,{lon},{lat},{ind},"
                                         f"T-{ind},{sp},gps\n" for i, (ind, sp, lon, lat) in enumerate(rows)),
                        encoding="utf-8")
        return path

    import_path(engine, movebank("leopard-collars", fixes), dataset="leopard-collars", org=OWNER, fmt="movebank")
    import_path(engine, movebank("embargoed-collars", [("CPY-1", "Capreolus pygargus", EMBARGO_SITE["lon"],
                                                        EMBARGO_SITE["lat"]),
                                                       ("CPY-1", "Capreolus pygargus", 131.73, 43.83)]),
                dataset="embargoed-collars", org=OWNER, fmt="movebank")
    ring = folder / "crane-rings.psv"
    ring.write_text(CRANE_RING.format(lat=CRANE_NEST["lat"], lon=CRANE_NEST["lon"]) + "\n", encoding="utf-8")
    import_path(engine, ring, dataset="crane-rings", org=OWNER, fmt="euring")
    counts = folder / "crane-nest-counts.csv"
    counts.write_text("site,name,date,species,n,lon,lat,cc\n"
                      + "".join(f"nest,{CRANE_NEST['locality']},{y}-06-15,{sp},{n},{CRANE_NEST['lon']},"
                                f"{CRANE_NEST['lat']},CN\n" for y in (2021, 2022, 2023)
                                for sp, n in (("Leucogeranus leucogeranus", 40), ("Anser cygnoid", 900))),
                      encoding="utf-8")
    (folder / "counts.yaml").write_text("record_type: waterbird_count\ncolumns: {site: site, name: site_name, "
                                         "date: date, species: scientific_name, n: count, lon: lon, lat: lat, "
                                         "cc: country_code}\n", encoding="utf-8")
    import_path(engine, counts, dataset="crane-nest-counts", org=OWNER, fmt="csv", mapping=folder / "counts.yaml")
    glacier = folder / "private-glacier.csv"
    glacier.write_text("id,name,lon,lat,year,var,value,unit\n" + "".join(
        f"990001,PRIVATE GLACIER,{PRIVATE_SITE['lon']},{PRIVATE_SITE['lat']},{y},annual_balance,{-300 - 20 * k},mm w.e.\n"
        for k, y in enumerate(range(2015, 2023))), encoding="utf-8")
    (folder / "glacier.yaml").write_text(WGMS_MAPPING, encoding="utf-8")
    import_path(engine, glacier, dataset="private-glacier", org=OWNER, fmt="csv", mapping=folder / "glacier.yaml")
    with engine.begin() as conn:
        for name in ("leopard-collars", "crane-rings", "crane-nest-counts", "embargoed-collars"):
            sharing.set_sharing(conn, name, visibility="public")
        sharing.set_sharing(conn, "private-glacier", visibility="owner")
        sharing.set_sharing(conn, "embargoed-collars", embargo_until=embargo_until)
        sharing.set_sensitive(conn, "Leucogeranus leucogeranus", "CN", "0.1", reason="nest disturbance")


# genetic samples of "leopard-cams" (scats at the secret sites): sample, species, site, individual, genotype
GENETIC_SAMPLES = [("PPO-S1", "Panthera pardus orientalis", SECRET_SITES[0], "PPO-F12", ("150/154", "201/201", "88/92")),
                   ("PPO-S2", "Panthera pardus orientalis", SECRET_SITES[0], "PPO-F12", ("150/154", "201/201", "88/92")),
                   ("PPO-S3", "Panthera pardus orientalis", SECRET_SITES[0], "", ("152/154", "199/201", "88/88")),
                   ("PTA-S1", "Panthera tigris altaica", SECRET_SITES[1], "PTA-M3", ("160/162", "210/214", "90/94"))]
GENOTYPE_MAPPING = """record_type: genotype
columns: {sample: sample, population: population, locus: locus, allele1: allele1, allele2: allele2,
          individual: individual, species: scientific_name}
"""


def _genetic_samples(engine, folder: Path) -> None:
    """Genotyped scats of the sensitive cats in "leopard-cams", placed at the secret sites (exact coordinates
    the permission walk searches every response for)."""
    from sqlalchemy import select, update

    from econet.hub import models as m
    from econet.hub.ingest import import_path
    from econet.hub.spatial import to_equal_area
    (folder / "genotype-mapping.yaml").write_text(GENOTYPE_MAPPING, encoding="utf-8")
    path = folder / "leopard-cams-genotypes.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "population", "locus", "allele1", "allele2", "individual", "species"])
        for key, sp, _site, ind, loci in GENETIC_SAMPLES:
            for j, g in enumerate(loci):
                a, b = g.split("/")
                w.writerow([key, "Kedrovaya", f"L{j + 1}", a, b, ind, sp])
    import_path(engine, path, dataset="leopard-cams", org=OWNER, fmt="csv", mapping=folder / "genotype-mapping.yaml")
    with engine.begin() as conn:
        ds = conn.execute(select(m.Dataset.id).where(m.Dataset.name == "leopard-cams")).scalar_one()
        for key, _sp, site, _ind, _loci in GENETIC_SAMPLES:
            x, y = to_equal_area([site["lon"]], [site["lat"]])
            conn.execute(update(m.GeneticSample).where(m.GeneticSample.dataset_id == ds,
                                                       m.GeneticSample.sample_key == key)
                         .values(lon=site["lon"], lat=site["lat"], x=float(x[0]), y=float(y[0]), country_code="RU",
                                 coordinate_uncertainty_m=10.0, sample_type="scat"))


#: registry records of the sample hub (issue 9): public, alliance-only and parties-only
REGISTRY_KEYS = {"public": "sample-agreement", "alliance": "sample-alliance-workshop", "parties": "sample-parties-project"}


def add_registry_and_alerts(engine, folder: Path) -> None:
    """Issue 9 records for the leak walk: registry records of each visibility linked to the sensitive and the
    private datasets, watch lists of the owner and the partner (the Amur leopard, a border strip, an
    "invasive" wild boar listed for the test), their alerts about the den and kill sites, and a failed import."""
    from econet.errors import EconetError
    from econet.hub import alerts, registry
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    admin = View.admin("sample")
    with engine.begin() as conn:
        for vis, key in REGISTRY_KEYS.items():
            registry.add(conn, admin, {"key": key, "kind": "agreement" if vis == "public" else "project",
                                       "title": f"SIMULATED {vis} record", "visibility": vis, "keeper": OWNER,
                                       "start_date": "2023", "fields": ["camera-trap monitoring"]})
            registry.set_party(conn, admin, key, OWNER, organization=OWNER, role="partner")
            registry.set_party(conn, admin, key, PARTNER, organization=PARTNER, role="partner")
            for kind, target in (("pa", "Land of the Leopard National Park"), ("pa", "Hunchun National Nature Reserve"),
                                 ("dataset", "leopard-cams"), ("dataset", "private-stations")):
                registry.link(conn, admin, key, kind, target)
        for org in (OWNER, PARTNER):
            alerts.add_item(conn, admin, org, "sensitive", "Panthera pardus orientalis")
            alerts.add_item(conn, admin, org, "area", "CN-RU border 30 km", area_kind="border", border="CN-RU",
                            width_m=30000)
            alerts.add_item(conn, admin, org, "invasive", "Sus scrofa", risk_category="test listing (SIMULATED)")
        alerts.add_item(conn, admin, OWNER, "sensitive", "Capreolus pygargus")
        alerts.run_all(conn)
    bad = folder / "broken-upload.csv"
    bad.write_text("id,species,date,lon,lat,country,locality,n,animal\nb1,Sus scrofa,2023-13-45,131.1,43.1,RU,,1,\n",
                   encoding="utf-8")
    try:
        import_path(engine, bad, dataset="leopard-cams", org=OWNER, fmt="csv", mapping=folder / "mapping.yaml")
    except EconetError:
        pass  # expected: the owner's members get an import_failed alert
