"""Demo step 95: the cooperation registry with the region's real agreements, and watch lists that raise alerts.

The registry gets the region's real agreements, projects and activities (public facts with sources, shipped in
econet/data/registry/agreements.json: DIPA 1994, Khanka-Xingkai 1996, the 2019 leopard parks MoU, the RU-KZ
Altai agreement of 2011, ...; unknown fields stay unknown) and one SIMULATED joint project of the two demo
partners that links their camera-trap datasets, with each partner's mutual recognition.

Both demo partners watch the Amur leopard (sensitive) and a 10 km strip along the China-Russia border; the
Chinese partner also lists the muskrat (Ondatra zibethicus, introduced in the region) as invasive. A SIMULATED
import then brings a muskrat record 1.2 km from the border and a leopard seen on the Chinese side, and a
SIMULATED broken file fails to import. Outputs: `registry_alerts/registry.json` and `registry_csv/` (the
registry export), `alerts_by_organization.json` (alerts per organization, and one alert as each partner
receives it: exact for the owner, generalized for the partner).
"""

from __future__ import annotations

ORDER = 95
TITLE = "Cooperation registry (real agreements) and watch-list alerts (SIMULATED records)"

OWNER = "Land of the Leopard NP (demo)"
PARTNER = "Hunchun Tiger-Leopard NR (demo)"
LEOPARD = "Panthera pardus orientalis"
INVASIVE = "Ondatra zibethicus"
DATASET = "watch-demo-sim"
MAPPING = """record_type: observation
columns: {id: occurrence_id, species: scientific_name, date: time, lon: lon, lat: lat, country: country_code,
          n: count, animal: individual}
"""
#: SIMULATED records: (id, species, date, lon, lat, country, n, individual)
RECORDS = [("sim-1", INVASIVE, "2022-05-14", 131.1, 43.0, "RU", 2, ""),
           ("sim-2", LEOPARD, "2022-06-02", 130.95, 43.1, "CN", 1, "PPO-03")]


def _project(conn, view) -> None:
    """A SIMULATED joint project of the two demo partners, linked to their datasets, mutually recognized."""
    from econet.hub import registry
    key = "amur-cameras-joint-sim"
    registry.add(conn, view, {
        "key": key, "kind": "project", "title": "SIMULATED joint camera-trap monitoring of leopards across the border",
        "status": "ongoing", "start_date": "2021-01", "visibility": "parties", "keeper": OWNER,
        "scope": "SIMULATED demo project: one camera grid on both sides of the border, shared identification of "
                 "individuals.", "fields": ["camera-trap monitoring", "individual identification"],
        "details": {"funding": "none (SIMULATED)", "indicators": "leopards identified on both sides",
                    "simulated": True}})
    for org, cc, day in ((OWNER, "RU", "2021-02-01"), (PARTNER, "CN", "2021-03-15")):
        registry.set_party(conn, view, key, org, organization=org, country=cc, role="partner",
                           recognized_on=day, recognition_note="SIMULATED: recognized as a joint project")
    for kind, target in (("pa", "Land of the Leopard National Park"), ("pa", "Hunchun National Nature Reserve"),
                         ("dataset", "lotl-cameras-sim"), ("dataset", "amur-cross-border-cameras-sim"),
                         ("record", "leopard-parks-mou-2019")):
        registry.link(conn, view, key, kind, target, "SIMULATED link" if kind == "record" else None)


def run(ctx) -> dict:
    import csv
    import json
    from pathlib import Path

    from sqlalchemy import select

    from econet.errors import EconetError
    from econet.hub import accounts, alerts, models as m, registry, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path

    engine = open_hub(ctx.db_url)
    admin = sharing.View.admin("demo")
    agreements = Path(__file__).resolve().parents[2] / "data" / "registry" / "agreements.json"
    with engine.begin() as conn:
        accounts.add_org(conn, OWNER, country="RU")
        accounts.add_org(conn, PARTNER, country="CN")
        imported = registry.import_file(conn, admin, agreements)
        datasets = {d["name"] for d in sharing.visible_datasets(conn, admin)}
        if {"lotl-cameras-sim", "amur-cross-border-cameras-sim"} <= datasets:
            _project(conn, admin)
        for org in (OWNER, PARTNER):
            alerts.add_item(conn, admin, org, "sensitive", LEOPARD, distance_m=1000)
            alerts.add_item(conn, admin, org, "area", "CN-RU border strip 10 km", area_kind="border", border="CN-RU",
                            width_m=10000)
        alerts.add_item(conn, admin, PARTNER, "invasive", INVASIVE, risk_category="high (demo assessment)",
                        distance_m=5000, note="introduced species; risk category set for the demo")
        earlier = alerts.run_all(conn)  # records already in the hub (steps 30-35)

    work = ctx.output("registry_alerts/inputs", "SIMULATED files imported by the watch-list demo")
    work.mkdir(parents=True, exist_ok=True)
    (work / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    good, bad = work / "watch_demo_sim.csv", work / "watch_demo_broken_sim.csv"
    header = ["id", "species", "date", "lon", "lat", "country", "n", "animal", "remarks"]
    for path, rows in ((good, RECORDS), (bad, [("bad-1", INVASIVE, "2022-05-20", 131.1, 143.0, "RU", 1, "")])):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows([[*r, "SIMULATED record (econet demo)"] for r in rows])
    report = import_path(engine, good, dataset=DATASET, org=OWNER, fmt="csv", mapping=work / "mapping.yaml",
                         dataset_meta={"license": "CC-BY-4.0", "title": "SIMULATED records for the watch-list demo"})
    try:
        import_path(engine, bad, dataset=DATASET, org=OWNER, fmt="csv", mapping=work / "mapping.yaml")
        failed = None
    except EconetError as exc:  # expected: latitude out of range; the hook alerts the owner
        failed = exc.message
    with engine.begin() as conn:
        sharing.set_sharing(conn, DATASET, visibility="partners", partners=[PARTNER])
        after_sharing = alerts.run_all(conn)  # the partner now sees the records: its alerts follow
        users = {}
        for org, name in ((OWNER, "lotl-data-manager"), (PARTNER, "hunchun-analyst")):
            if conn.execute(select(m.User.id).where(m.User.username == name)).scalar() is None:
                accounts.add_user(conn, name, None)
                accounts.set_role(conn, name, org, "viewer")
            users[org] = sharing.View.for_user(conn, name)
        seen = {org: alerts.list_alerts(conn, v, limit=10000) for org, v in users.items()}
        per_org = alerts.summary(conn)
    example = None
    partner_by_id = {a["id"]: a for a in seen[PARTNER]}
    for a in seen[OWNER]:
        other = partner_by_id.get(a["id"])
        if a["rule"] == "sensitive_new_site" and other is not None:
            example = {"alert": a["title"], "owner_sees": a["record"], "partner_sees": other["record"]}
            break
    if example is None:  # the two partners watch separately: compare the same record's alerts
        by_record = {(a["rule"], (a.get("record") or {}).get("hub_id")): a for a in seen[PARTNER]}
        for a in seen[OWNER]:
            other = by_record.get((a["rule"], (a.get("record") or {}).get("hub_id")))
            if a["rule"] == "sensitive_new_site" and other is not None:
                example = {"alert": a["title"], "owner_sees": a["record"], "partner_sees": other["record"]}
                break
    summary = {"agreements_and_records_imported": imported["records"], "parties": imported["parties"],
               "links": imported["links"], "alerts_for_records_already_in_hub": len(earlier),
               "alerts_on_simulated_import": (report.get("alerts") or {}).get("new", 0),
               "alerts_after_sharing_with_partner": len(after_sharing), "failed_import": failed,
               "alerts_per_organization": per_org,
               "alerts_seen": {org: len(v) for org, v in seen.items()},
               "generalization_example": example, "email": "SMTP not configured in the demo"}
    with engine.begin() as conn:
        registry.export(conn, admin, ctx.output("registry_alerts/registry.json", "the cooperation registry (JSON)"))
        registry.export(conn, admin, ctx.output("registry_alerts/registry_csv", "the registry as CSV tables"), "csv")
    ctx.output("registry_alerts/alerts_by_organization.json", "alerts per organization, exact vs generalized").write_text(
        json.dumps({**summary, "alerts": seen}, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if not ctx.quiet:
        counts = ", ".join(f"{r['organization']}: {r['alerts']} {r['rule']}" for r in per_org)
        print(f"registry: {imported['records']} records (real agreements with sources); alerts: {counts}")
    ctx.results["registry_alerts"] = summary
    return summary
