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
    return {"engine": engine, "tokens": users, "folder": folder}
