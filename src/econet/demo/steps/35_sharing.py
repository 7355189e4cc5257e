"""Demo step 35: sharing rules between two partners, with the Amur leopard as a sensitive species.

The Russian park (owner of the SIMULATED camera-trap dataset of step 30) shares it with a named Chinese
partner; the Amur leopard is sensitive in Russia and China (Chapman 2020 category 2: coordinates rounded to 0.1 degree
for everyone but the owner). Writes what the owner and the partner each see, side by side:
`sharing/owner_vs_partner.csv` (one row per leopard record) and `sharing/owner_vs_partner.json` (counts).
"""

from __future__ import annotations

ORDER = 35
TITLE = "Sharing rules: what the owner and a partner see of a sensitive species (Amur leopard)"

OWNER = "Land of the Leopard NP (demo)"
PARTNER = "Hunchun Tiger-Leopard NR (demo)"
DATASET = "lotl-cameras-sim"
TAXON = "Panthera pardus orientalis"


def _user(conn, name: str, org: str, role: str) -> None:
    from sqlalchemy import select
    from econet.hub import accounts, models as m
    if conn.execute(select(m.User.id).where(m.User.username == name)).scalar() is None:
        accounts.add_user(conn, name, None)
    accounts.set_role(conn, name, org, role)


def run(ctx) -> dict:
    import csv
    import json
    from pathlib import Path

    from econet.atomic import OutputSet
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.query import ObservationFilter

    engine = open_hub(ctx.db_url)
    with engine.begin() as conn:
        accounts.add_org(conn, OWNER, country="RU")
        accounts.add_org(conn, PARTNER, country="CN")
        _user(conn, "lotl-data-manager", OWNER, "data_manager")
        _user(conn, "hunchun-analyst", PARTNER, "viewer")
        sharing.set_sharing(conn, DATASET, visibility="partners", partners=[PARTNER], license="CC-BY-NC-4.0",
                            citation=f"{OWNER} (2021). SIMULATED camera traps near the border (econet demo).")
        for country in ("RU", "CN"):  # the cameras stand on both sides of the border
            sharing.set_sensitive(conn, TAXON, country, "0.1", reason="poaching risk at dens and kills (demo)")
    f = ObservationFilter(dataset=DATASET)
    with engine.begin() as conn:
        owner_view = sharing.View.for_user(conn, "lotl-data-manager")
        partner_view = sharing.View.for_user(conn, "hunchun-analyst")
        owner = {r["hub_id"]: r for r in sharing.view_rows(conn, owner_view, f)}
        partner = {r["hub_id"]: r for r in sharing.view_rows(conn, partner_view, f)}
        sharing.audit(conn, partner_view, "read", f"demo:{DATASET}", {"records": len(partner)})
    leopard = [i for i, r in owner.items() if r["accepted_name"] == TAXON]
    site_mates = [i for i, r in partner.items() if r["accepted_name"] != TAXON and r["data_generalizations"]]
    work = Path(ctx.out) / "sharing"
    work.mkdir(parents=True, exist_ok=True)
    cols = ["hub_id", "occurrence_id", "time_utc", "owner_lon", "owner_lat", "owner_uncertainty_m",
            "partner_lon", "partner_lat", "partner_uncertainty_m", "partner_dataGeneralizations",
            "partner_informationWithheld"]
    summary = {"dataset": DATASET, "owner": OWNER, "partner": PARTNER, "taxon": TAXON, "category": "0.1",
               "records_owner_sees": len(owner), "records_partner_sees": len(partner),
               "leopard_records": len(leopard),
               "leopard_records_generalized_for_partner": sum(1 for i in leopard if partner[i]["data_generalizations"]),
               "other_species_generalized_at_leopard_sites": len(site_mates),
               "partner_view": partner_view.describe(), "owner_view": owner_view.describe()}
    with OutputSet(work) as outputs:
        tmp_csv, tmp_json = outputs.path("owner_vs_partner.csv"), outputs.path("owner_vs_partner.json")
        with open(tmp_csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols)
            for i in leopard:
                o, p = owner[i], partner[i]
                w.writerow([i, o["occurrence_id"], o["time_utc"], o["lon"], o["lat"], o["coordinate_uncertainty_m"],
                            p["lon"], p["lat"], p["coordinate_uncertainty_m"], p["data_generalizations"],
                            p["information_withheld"]])
        Path(tmp_json).write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    ctx.record(work / "owner_vs_partner.csv")
    ctx.record(work / "owner_vs_partner.json")
    if not ctx.quiet:
        print(f"sharing: {summary['leopard_records']} Amur leopard records exact for {OWNER}, rounded to 0.1 degree "
              f"for {PARTNER}; {len(site_mates)} other records at leopard sites generalized too")
    ctx.results["sharing"] = summary
    return summary
