"""Demo step 81: a flyway network from SIMULATED crane ring recoveries between real sites.

No real ring recoveries of the region are available offline. Cranes are "ringed" at real breeding sites
(Muraviovka, Khingansky, Lake Khanka, Daursky) and "re-sighted" at real staging and wintering sites along
the routes described for each species (BirdLife factsheets); dates, numbers and routes are simulated. The
records go through econet's national-CSV reader with a column mapping, as a partner's file would, and
the EURING manual's own example records are linked alongside as a check against fields 31-33.
"""

from __future__ import annotations

ORDER = 81
TITLE = "Ring recoveries: flyway network (simulated crane resightings at real sites)"

#: site: (country, lon, lat) - approximate centres of real sites
PLACES = {
    "Muraviovka": ("RU", 127.7, 49.9), "Khingansky": ("RU", 130.5, 49.1), "Khanka": ("RU", 132.4, 45.0),
    "Daursky": ("RU", 115.7, 50.1), "Momoge": ("CN", 123.6, 45.9), "Poyang": ("CN", 116.3, 29.1),
    "Bohai (Beidagang)": ("CN", 117.4, 38.8), "Cheorwon": ("KR", 127.3, 38.2), "Izumi": ("JP", 130.3, 32.1),
    "Yancheng": ("CN", 120.6, 33.4), "Suncheon": ("KR", 127.5, 34.9),
}

#: species: list of (breeding site, route of later sites, number of birds)
ROUTES = {
    "Antigone vipio": [("Muraviovka", ["Cheorwon", "Izumi"], 8), ("Daursky", ["Bohai (Beidagang)", "Poyang"], 6),
                       ("Khanka", ["Cheorwon"], 5)],
    "Grus monacha": [("Khingansky", ["Suncheon", "Izumi"], 7), ("Muraviovka", ["Izumi"], 4)],
    "Grus japonensis": [("Khanka", ["Yancheng"], 3), ("Khingansky", ["Cheorwon"], 4)],
}


def simulate_encounters(seed: int = 81):
    """A partner-style CSV table (Russian column names) of ringing and later sightings."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    n = 0
    for species, routes in ROUTES.items():
        for breed, later, birds in routes:
            for _ in range(birds):
                n += 1
                ring = f"RUM-{n:04d}"
                year = int(rng.integers(2018, 2022))
                c, lon, lat = PLACES[breed]
                rows.append({"Kolco": ring, "Vid": species, "Data": f"{year}-07-{int(rng.integers(1, 28)):02d}",
                             "Shirota": lat + rng.normal(0, 0.05), "Dolgota": lon + rng.normal(0, 0.05),
                             "Strana": c, "Mesto": breed, "Metka": "2"})
                month_day = [("10", 10), ("12", 20)] if len(later) > 1 else [("12", 15)]
                for site, (mm, dd) in zip(later, month_day):
                    if rng.random() < 0.2:      # not every bird is seen everywhere
                        continue
                    c, lon, lat = PLACES[site]
                    rows.append({"Kolco": ring, "Vid": species, "Data": f"{year}-{mm}-{dd:02d}",
                                 "Shirota": lat + rng.normal(0, 0.05), "Dolgota": lon + rng.normal(0, 0.05),
                                 "Strana": c, "Mesto": site, "Metka": "4"})
    return pd.DataFrame(rows)


#: EURING species codes of the simulated cranes
EURING_SPECIES = {"Antigone vipio": "04370", "Grus monacha": "04350", "Grus japonensis": "04380"}


def to_euring2020(table) -> str:
    """The simulated encounters as EURING 2020 records (scheme RUM; ringing = metal ring code 1, later
    sightings 4), built on the EURING manual's example record."""
    from econet.hub.sharing_sample import CRANE_RING
    lines = []
    for r in table.itertuples(index=False):
        f = CRANE_RING.format(lat=float(r.Shirota), lon=float(r.Dolgota)).split("|")
        y, mth, d = r.Data.split("-")
        f[2] = r.Kolco.replace("-", "").rjust(10, ".")
        f[4] = "1" if r.Metka == "2" else "4"
        f[6] = f[7] = EURING_SPECIES[r.Vid]
        f[20] = f"{d}{mth}{y}"
        if f[4] == "4":
            f[26], f[27] = "8", "28"  # alive and released, identified by its ring (a sighting)
        lines.append("|".join(f))
    return "\n".join(lines) + "\n"


def hub_movements(ctx, table):
    """Import the encounters into the hub as EURING 2020 records (a public dataset) and link them on the
    public (anonymous) view."""
    from econet.hub import monitoring, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path

    path = ctx.output("ring_encounters_SIMULATED_euring2020.psv")
    path.write_text(to_euring2020(table), encoding="utf-8")
    import_path(ctx.db_url, path, dataset="crane-rings-sim", org="East Asian crane survey network (demo)",
                fmt="euring")
    engine = open_hub(ctx.db_url)
    with engine.begin() as conn:
        sharing.set_sharing(conn, "crane-rings-sim", visibility="public")
    with engine.begin() as conn:
        return monitoring.ring_movements_on_view(conn, sharing.View.anonymous(), dataset="crane-rings-sim",
                                                 mode="consecutive")


MAPPING = {"ring_id": "Kolco", "species": "Vid", "date": "Data", "lat": "Shirota", "lon": "Dolgota",
           "country": "Strana", "site_id": "Mesto", "metal_ring_information": "Metka"}


def run(ctx) -> dict:
    import tempfile
    from pathlib import Path

    import yaml

    from econet.analytics import rings
    from econet.analytics.waterbirds import east_asia_countries

    table = simulate_encounters()
    csv_path = ctx.output("ring_encounters_SIMULATED.csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        table.to_csv(fh, index=False)
    with open(ctx.output("ring_encounters_mapping.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(MAPPING, fh, sort_keys=False)
    enc = rings.read_encounters_csv(csv_path, MAPPING)
    file_mv = rings.link_encounters(enc, mode="consecutive")  # the partner's own CSV, read with the mapping
    mv, _, rep = hub_movements(ctx, table)                     # the same encounters from the hub
    net = rings.flyway_network(mv)
    rings.write_network_gpkg(net, ctx.output("flyway_network.gpkg"))
    with open(ctx.output("flyway_country_flows.csv"), "w", newline="", encoding="utf-8") as fh:
        net["country_flows"].to_csv(fh, index=False)
    rings.plot_network(net, ctx.output("flyway_network.png"), basemap=east_asia_countries(),
                       title="Crane movements between sites (SIMULATED resightings of ringed birds at real sites)")

    # the EURING manual's example: ringed in Germany 1971, found in Sweden 1976; fields 31-33 = 1002/023/1739
    example = "\n".join([
        "DERA0CD...5206501ZZ1877018770N0ZUFF22U-----081019710----DECK+502400+00742000820030000000000000",
        "DERA0CD...5206514ZZ1877018770N0ZUFF02U-----120719760----SV55+584200+01348000101030100202301739"])
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "euring2000.txt"
        p.write_text(example + "\n")
        check = rings.link_encounters(rings.read_euring(p)).iloc[0]
    flows = net["country_flows"]
    cross = flows[flows["cross_border"]]
    return {
        "note": "ring encounters are SIMULATED between real sites",
        "view": f"read from the hub on the {rep['view']['kind']} (public) view: {rep['records']} encounters; "
                f"{len(mv)} movements (the CSV read directly: {len(file_mv)})",
        "rings": int(enc["ring_id"].nunique()),
        "movements": int(len(mv)),
        "nodes": int(len(net["nodes"])),
        "cross_border_movements": int(cross["n_movements"].sum()),
        "top_flow": (lambda r: f"{r['species']} {r['from_country']}->{r['to_country']} ({r['season']}): "
                     f"{r['n_movements']}")(cross.sort_values("n_movements").iloc[-1]) if len(cross) else None,
        "euring_example_check": f"{check['distance_km']:.1f} km (EURING 1002), rhumb {check['rhumb_deg']:.1f} deg "
                                f"(EURING 023), {int(check['elapsed_days'])} days (EURING 1739): {check['euring_check']}",
    }
