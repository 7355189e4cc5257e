"""Ring recoveries: EURING decoding (expected decodings in shared/conformance/euring/SOURCE.md), geodesic
distances with known answers, linking, the flyway network and its GeoPackage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from econet.analytics import rings
from econet.errors import EconetError

DATA = Path(__file__).parent / "data" / "euring"


def run_cli(args) -> int:
    """Run the econet CLI in-process; it always ends with sys.exit, whose code is returned."""
    from econet.cli.main import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("name", ["euring2000_examples.txt", "euring2020_examples.psv"])
def test_decode_der_records_as_documented(name):
    e = read = rings.read_euring(DATA / name)
    der = e[e["scheme"] == "DER"].reset_index(drop=True)
    assert len(der) == 2 and der["ring_id"].nunique() == 1
    r0, r1 = der.iloc[0], der.iloc[1]
    assert r0["species_name"] == "Emberiza schoeniclus"          # EURING code table, via the euring package
    assert (r0["country_name"], der.iloc[1]["country_name"]) == ("Germany", "Sweden")
    assert r0["species"] == "18770" and r0["date"] == pd.Timestamp("1971-10-08") and r0["place_code"] == "DECK"
    assert (r0["lat"], r0["lon"]) == pytest.approx((50.4, 7.7))
    assert (r0["condition"], r0["circumstances"], r0["metal_ring_information"]) == ("8", "20", "1")
    assert r1["date"] == pd.Timestamp("1976-07-12") and r1["place_code"] == "SV55"
    assert (r1["lat"], r1["lon"]) == pytest.approx((58.7, 13.8))
    assert (r1["condition"], r1["circumstances"], r1["metal_ring_information"]) == ("1", "01", "4")
    assert (r1["euring_distance_km"], r1["euring_direction_deg"], r1["euring_elapsed_days"]) == (1002, 23, 1739)
    assert read is e


def test_decode_esa_record_2000plus():
    e = rings.read_euring(DATA / "euring2000plus_examples.psv").iloc[0]
    assert e["ring_id"] == "ESA|Z.....6408" and e["species"] == "12430"
    assert e["date"] == pd.Timestamp("2006-08-11") and e["place_code"] == "ES14"
    assert (e["lat"], e["lon"]) == pytest.approx((42.0833, -4.75), abs=1e-4)
    assert (e["euring_distance_km"], e["euring_direction_deg"], e["euring_elapsed_days"]) == (280, 241, 97)


def test_shared_examples_decode_the_same(shared):
    src = shared / "conformance" / "euring"
    for name in ("euring2000_examples.txt", "euring2000plus_examples.psv", "euring2020_examples.psv"):
        a = rings.read_euring(src / name)
        b = rings.read_euring(DATA / name)
        pd.testing.assert_frame_equal(a, b)


def test_bad_euring_line_names_the_line(tmp_path):
    good = (DATA / "euring2000_examples.txt").read_text().splitlines()
    f = tmp_path / "bad.txt"
    f.write_text(good[0] + "\n" + good[1][:50] + "\n")
    with pytest.raises(EconetError) as e:
        rings.read_euring(f)
    assert e.value.row == 2 and e.value.path == str(f)


# ---------------------------------------------------------------------------------------------- geometry
def test_geodesic_known_distances():
    # WGS84: one degree of latitude at the equator is 110,574.389 m; one degree of longitude on the equator
    # is a * pi / 180 = 111,319.491 m (a = 6,378,137 m).
    d, az = rings.geodesic([0, 0], [0, 0], [1, 0], [0, 1])
    assert d == pytest.approx([110.574389, 111.319491], abs=1e-6)
    assert az == pytest.approx([0.0, 90.0], abs=1e-9)
    assert rings.rhumb_bearing(0, 0, 0, -1) == pytest.approx(270.0)
    assert rings.rhumb_bearing(10, 179.5, 10, -179.5) == pytest.approx(90.0)  # across the antimeridian


# ---------------------------------------------------------------------------------------------- linking
def test_link_der_matches_euring_fields_31_33():
    enc = pd.concat([rings.read_euring(DATA / "euring2000_examples.txt"),
                     rings.read_euring(DATA / "euring2020_examples.psv")], ignore_index=True)
    mv = rings.link_encounters(enc)   # duplicates across the two files count once
    assert len(mv) == 1
    m = mv.iloc[0]
    assert m["elapsed_days"] == 1739 == m["euring_elapsed_days"]
    assert m["distance_km"] == pytest.approx(1003.707, abs=1e-3)     # ellipsoid; EURING printed 1002
    assert abs(m["distance_km"] - 1002) < 0.006 * 1002
    assert m["rhumb_deg"] == pytest.approx(23.0, abs=0.5)              # EURING printed 023
    assert m["azimuth_deg"] == pytest.approx(20.68, abs=0.01)
    assert m["euring_check"] == "ok"
    assert (m["from_country"], m["to_country"]) == ("DE", "SV")


def test_link_flags_euring_mismatch():
    lines = (DATA / "euring2000_examples.txt").read_text().splitlines()
    wrong = lines[1][:-13] + "01500" + lines[1][-8:]     # distance field 31 -> 1500 km
    enc = rings.read_euring([lines[0], wrong])
    assert enc["euring_distance_km"].iloc[1] == 1500
    assert rings.link_encounters(enc)["euring_check"].iloc[0] == "mismatch"


def _csv_encounters() -> pd.DataFrame:
    # Three White-naped Cranes: ringed in Dauria (RU), seen at Poyang (CN) and Cheorwon (KR).
    return pd.DataFrame({
        "Ring": ["R1", "R1", "R1", "R2", "R2", "R3"],
        "Art": ["Antigone vipio"] * 6,
        "Datum": ["2019-07-01", "2019-12-20", "2020-04-10", "2019-07-02", "2020-01-15", "2019-07-03"],
        "B": [50.20, 29.10, 50.25, 50.21, 38.25, 50.22],
        "L": [115.10, 116.20, 115.12, 115.30, 127.20, 115.20],
        "Land": ["RU", "CN", "RU", "RU", "KR", "RU"],
    })


MAPPING = {"ring_id": "Ring", "species": "Art", "date": "Datum", "lat": "B", "lon": "L", "country": "Land"}


def test_csv_mapping_and_link_modes(tmp_path):
    f = tmp_path / "national.csv"
    _csv_encounters().to_csv(f, index=False)
    enc = rings.read_encounters_csv(f, MAPPING)
    assert len(enc) == 6 and enc["date"].dtype.kind == "M"
    from_ringing = rings.link_encounters(enc)
    assert len(from_ringing) == 3            # R1: two recoveries, R2: one, R3: none
    legs = rings.link_encounters(enc, mode="consecutive")
    assert len(legs) == 3
    r1 = legs[legs["ring_id"] == "R1"].sort_values("from_date")
    assert r1["elapsed_days"].tolist() == [172, 112]
    assert (r1["to_country"].tolist()) == ["CN", "RU"]
    assert set(from_ringing["euring_check"]) == {"n/a"}
    # the mapping may come from a YAML file
    mf = tmp_path / "mapping.yaml"
    mf.write_text("\n".join(f"{k}: {v}" for k, v in MAPPING.items()))
    assert len(rings.read_encounters_csv(f, mf)) == 6


def test_csv_bad_latitude_names_row_and_field(tmp_path):
    df = _csv_encounters()
    df.loc[2, "B"] = 95.0
    f = tmp_path / "bad.csv"
    df.to_csv(f, index=False)
    with pytest.raises(EconetError) as e:
        rings.read_encounters_csv(f, MAPPING)
    assert (e.value.row, e.value.field) == (4, "B")


# ---------------------------------------------------------------------------------------------- network
def test_flyway_network_nodes_edges_flows(tmp_path):
    import pyogrio

    f = tmp_path / "national.csv"
    _csv_encounters().to_csv(f, index=False)
    mv = rings.link_encounters(rings.read_encounters_csv(f, MAPPING))
    net = rings.flyway_network(mv, cell_deg=1.0)
    nodes = net["nodes"].set_index("node_id")
    # Dauria ringing places fall in one 1-degree cell (115-116E, 50-51N)
    assert "c115_50" in nodes.index and nodes.loc["c115_50", "n_encounters"] == 4
    assert nodes.loc["c115_50", ["lon", "lat"]].tolist() == [115.5, 50.5]
    flows = net["country_flows"].set_index(["from_country", "to_country"])
    assert flows.loc[("RU", "CN"), "n_movements"] == 1 and bool(flows.loc[("RU", "CN"), "cross_border"])
    assert flows.loc[("RU", "KR"), "season"] == "winter"
    assert not bool(flows.loc[("RU", "RU"), "cross_border"])
    assert net["edges"]["n_movements"].sum() == len(mv) == 3
    gpkg = rings.write_network_gpkg(net, tmp_path / "net.gpkg")
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert layers == {"nodes", "edges", "movements"}
    edges = pyogrio.read_dataframe(gpkg, layer="edges")
    assert len(edges) == 3 and edges.crs.to_epsg() == 4326
    png = rings.plot_network(net, tmp_path / "net.png")
    assert png.stat().st_size > 5_000


def test_cli_network_and_link(tmp_path, capsys):
    out = tmp_path / "net"
    assert run_cli(["rings", "network", DATA / "euring2000_examples.txt", "--out", out, "--quiet",
                    "--format", "csv"]) == 0
    for name in ("network.gpkg", "movements.csv", "country_flows.csv", "network.png"):
        assert (out / name).exists()
    assert "DE,SV,1" in capsys.readouterr().out
    mv = tmp_path / "mv.csv"
    assert run_cli(["rings", "link", DATA / "euring2000_examples.txt", "--out", mv, "--quiet"]) == 0
    assert pd.read_csv(mv)["euring_check"].tolist() == ["ok"]
    assert run_cli(["rings", "link", tmp_path / "missing.txt"]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_demo_step_builds_network_and_checks_euring_example(tmp_path):
    import importlib

    import pyogrio

    from econet.demo import DemoContext

    step = importlib.import_module("econet.demo.steps.81_rings")
    summary = step.run(DemoContext(out=tmp_path, db_url="sqlite://"))
    assert "SIMULATED" in summary["note"] and summary["euring_example_check"].endswith(": ok")
    assert summary["cross_border_movements"] > 0
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "flyway_network.gpkg")} == {"nodes", "edges", "movements"}
    flows = pd.read_csv(tmp_path / "flyway_country_flows.csv")
    assert ((flows["from_country"] == "RU") & (flows["to_country"] == "JP")).any()


def test_countries_by_point_in_polygon(tmp_path):
    from econet.analytics.waterbirds import east_asia_countries

    f = tmp_path / "national.csv"
    _csv_encounters().assign(Land="").to_csv(f, index=False)
    mv = rings.link_encounters(rings.read_encounters_csv(f, MAPPING))
    net = rings.flyway_network(mv, countries=east_asia_countries(), country_column="iso_a2")
    pairs = set(zip(net["country_flows"]["from_country"], net["country_flows"]["to_country"]))
    assert pairs == {("RU", "CN"), ("RU", "RU"), ("RU", "KR")}
