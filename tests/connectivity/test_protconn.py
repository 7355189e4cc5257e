"""ProtConn: Saura et al. 2017/2018 definitions, Makurhini's printed example, bad and degenerate input, CLI."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from econet.connectivity import graph as G
from econet.connectivity.protconn import COLUMNS, protconn

CRS = "EPSG:3035"


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols or {"id": list(range(1, len(geoms) + 1))}, geometry=list(geoms), crs=CRS)


def _region(*geoms, name="R"):
    return gpd.GeoDataFrame({"name": [name] * len(geoms)}, geometry=list(geoms), crs=CRS)


def _one(rows, **kw):
    return rows[0] if not kw else [r for r in rows if all(r[k] == v for k, v in kw.items())][0]


def test_single_pa_inside_region_is_fully_connected():
    region = _region(shapely.box(0, 0, 100_000, 100_000))
    pas = _gdf([shapely.box(10_000, 10_000, 30_000, 30_000)])
    r = _one(protconn(pas, region, "name", [10_000], 0.5))
    a = 20_000 ** 2 / 1e4
    assert r["EC"] == pytest.approx(a)
    assert r["Prot"] == pytest.approx(4.0) and r["ProtConn"] == pytest.approx(4.0)
    assert r["RelConn"] == pytest.approx(100.0)
    assert r["ProtConn_Prot"] == pytest.approx(100.0) and r["ProtConn_Within"] == pytest.approx(100.0)
    assert r["ProtConn_Contig"] == pytest.approx(0.0, abs=1e-9) and r["ProtConn_Unprot"] == pytest.approx(0.0, abs=1e-9)


def test_two_separate_pas_by_hand():
    region = _region(shapely.box(0, 0, 100_000, 100_000))
    pas = _gdf([shapely.box(10_000, 10_000, 20_000, 20_000), shapely.box(30_000, 10_000, 40_000, 20_000)])
    d = 10_000.0
    r = _one(protconn(pas, region, "name", [d], 0.5))
    a = 1e8 / 1e4
    p = 0.5 ** (10_000 / d)   # 10 km apart edge to edge
    ec = math.sqrt(2 * a * a + 2 * a * a * p)
    la = 1e10 / 1e4
    assert r["EC"] == pytest.approx(ec)
    assert r["ProtConn"] == pytest.approx(100 * ec / la)
    assert r["ProtConn_Prot"] == pytest.approx(100 * (100 * math.sqrt(2) * a / la) / r["ProtConn"])
    assert r["ProtConn_Prot"] + r["ProtConn_Trans"] + r["ProtConn_Unprot"] == pytest.approx(100.0)


def test_touching_pas_are_one_node_and_split_within_and_contig():
    region = _region(shapely.box(0, 0, 100_000, 100_000))
    pas = _gdf([shapely.box(10_000, 10_000, 20_000, 20_000), shapely.box(20_000, 10_000, 30_000, 20_000)])
    r = _one(protconn(pas, region, "name", [1000], 0.5))
    assert r["nodes"] == 1
    assert r["ProtConn"] == pytest.approx(r["Prot"])
    # Within = 100 * sqrt(2 a^2) / (2a) = 70.71 % of ProtConn; Contig the rest of ProtConn[Prot]
    assert r["ProtConn_Within"] == pytest.approx(100 / math.sqrt(2))
    assert r["ProtConn_Contig"] == pytest.approx(100 - 100 / math.sqrt(2))


def test_transboundary_stepping_stone():
    """A foreign PA between two national PAs carries movement: ProtConn[Trans] > 0 (Saura et al. 2017)."""
    region = _region(shapely.Polygon([(0, 0), (60_000, 0), (60_000, 20_000), (40_000, 20_000), (40_000, 60_000),
                                      (20_000, 60_000), (20_000, 20_000), (0, 20_000)]))
    pas = _gdf([shapely.box(0, 25_000 - 25_000, 10_000, 10_000),           # inside, west
                shapely.box(50_000, 0, 60_000, 10_000),                   # inside, east
                shapely.box(10_500, 21_000, 19_500, 30_000),              # outside (foreign), near the notch
                shapely.box(40_500, 21_000, 49_500, 30_000)])             # outside
    with_tb = _one(protconn(pas, region, "name", [10_000], 0.5, transboundary=50_000))
    without = _one(protconn(pas, region, "name", [10_000], 0.5, transboundary=0))
    assert with_tb["transboundary_nodes"] == 2 and without["transboundary_nodes"] == 0
    assert with_tb["EC"] >= without["EC"]
    assert with_tb["ProtConn_Trans"] == pytest.approx(100 * (with_tb["EC"] - without["EC"]) / with_tb["EC"])
    assert without["ProtConn_Trans"] == 0
    assert with_tb["Prot"] == pytest.approx(without["Prot"])       # stepping stones add no area
    total = with_tb["ProtConn_Prot"] + with_tb["ProtConn_Trans"] + with_tb["ProtConn_Unprot"]
    assert total == pytest.approx(100.0)


def test_area_attribute_pa_versus_intersected():
    region = _region(shapely.box(0, 0, 100_000, 100_000))
    pas = _gdf([shapely.box(-10_000, 40_000, 10_000, 60_000)])       # half inside
    inter = _one(protconn(pas, region, "name", [10_000], area_attribute="intersected"))
    whole = _one(protconn(pas, region, "name", [10_000], area_attribute="pa"))
    assert inter["protected_area"] == pytest.approx(2e8 / 1e4)
    assert whole["protected_area"] == pytest.approx(4e8 / 1e4)


def test_island_region_bound_and_design():
    """Two islands: part of the unconnectedness is due to the sea (Bound), the rest to design (Saura 2018)."""
    islands = shapely.MultiPolygon([shapely.box(0, 0, 20_000, 20_000), shapely.box(50_000, 0, 70_000, 20_000)])
    region = _region(islands)
    pas = _gdf([shapely.box(5000, 5000, 10_000, 10_000), shapely.box(60_000, 5000, 65_000, 10_000)])
    d = 10_000.0
    r = _one(protconn(pas, region, "name", [d], 0.5))
    a, la = 25e6 / 1e4, 8e8 / 1e4
    k = G.decay_constant(d, 0.5)
    ec_design = math.sqrt(2 * a * a + 2 * a * a * math.exp(-k * 30_000))   # islands 30 km apart
    assert r["ProtConn_Design"] == pytest.approx(100 * (ec_design - r["EC"]) / la)
    assert r["ProtConn"] < r["ProtConn_Bound"] < r["Prot"]


def test_several_distances_one_run_grow_monotonically():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 200_000, (80, 2))
    pas = _gdf([shapely.Point(x, y).buffer(float(rng.uniform(500, 3000))) for x, y in pts])
    region = _region(shapely.box(0, 0, 200_000, 200_000))
    dists = [1000, 3160, 10_000, 31_600, 100_000]
    rows = protconn(pas, region, "name", dists, 0.5)
    assert [r["distance_m"] for r in rows] == dists
    pc = [r["ProtConn"] for r in rows]
    assert all(x < y for x, y in zip(pc, pc[1:]))
    assert all(r["ProtConn"] <= r["Prot"] + 1e-9 for r in rows)


def test_degenerate_regions_and_pas_give_defined_rows():
    regions = gpd.GeoDataFrame({"name": ["empty", "full", "flat"]},
                               geometry=[shapely.box(0, 0, 10_000, 10_000), shapely.box(50_000, 0, 60_000, 10_000),
                                         shapely.LineString([(0, 0), (1, 1)]).buffer(0)], crs=CRS)
    pas = _gdf([shapely.box(52_000, 2000, 55_000, 5000),
                shapely.Polygon([(52_000, 6000), (53_000, 6000), (54_000, 6000)])])   # zero-area PA
    rows = protconn(pas, regions, "name", [10_000, 30_000], 0.5)
    assert len(rows) == 4                                  # the empty geometry region is skipped
    empty = _one(rows, region="empty", distance_m=10_000)
    assert empty["ProtConn"] == 0 and empty["Prot"] == 0 and "no protected area" in empty["note"]
    full = _one(rows, region="full", distance_m=10_000)
    assert full["nodes"] == 1 and math.isfinite(full["ProtConn"])
    for r in rows:
        assert all(not (isinstance(v, float) and math.isnan(v)) for v in r.values())


def test_makurhini_readme_lcc_consistency(shared):
    """Makurhini v1.0.0 README (OscarGOGO/Makurhini, README.md, 'Protected Connected Land (ProtConn)'):
    MK_ProtConn(regions[1,], 'Intersected area', centroid, 10 km, p 0.5, transboundary 50 km) printed
    EC(PC) = 130189.18 and PC = 1.2324e-03, ProtConn_Trans = 0.000 and ProtConn_Trans_land = 0.000.
    The printed EC and PC imply LA = EC / sqrt(PC); econet's region area must agree to PC's 5 digits."""
    d = shared / "conformance/makurhini/gpkg"
    pas = gpd.read_file(d / "protected_areas_mex.gpkg")
    reg = gpd.read_file(d / "regions_mex.gpkg")
    r = _one(protconn(pas, reg.iloc[[0]], "OBJECTID", [10_000], 0.5, distance_type="centroid",
                      transboundary=50_000))
    la_printed = 130189.18 / math.sqrt(1.2324e-03)
    assert r["LA"] == pytest.approx(la_printed, rel=0.5e-4 / 1.2324 / 2 * 2)
    assert round(r["ProtConn_Trans"], 3) == 0.000 and round(r["ProtConn_Trans_land"], 3) == 0.000
    assert r["transboundary_nodes"] > 0     # stepping stones exist, but add nothing at 10 km here


@pytest.mark.xfail(reason="Makurhini v1.0.0's protected surface is 0.84% smaller than the exact intersection "
                          "(Prot 7.460 vs econet 7.523; same PA and region data, LA identical), most likely from "
                          "cutting the 38 boundary-straddling nodes with a region passed through rmapshaper "
                          "(ms_simplify/ms_dissolve; not verified); ProtUnconn, RelConn and the fractions shift "
                          "with it. EC agrees to 0.1%. See docs/protconn.md.", strict=True)
def test_makurhini_readme_printed_figures(shared):
    d = shared / "conformance/makurhini/gpkg"
    pas = gpd.read_file(d / "protected_areas_mex.gpkg")
    reg = gpd.read_file(d / "regions_mex.gpkg")
    r = _one(protconn(pas, reg.iloc[[0]], "OBJECTID", [10_000], 0.5, distance_type="centroid",
                      transboundary=50_000))
    printed = {"EC": (130189.18, 2), "Prot": (7.460, 3), "Unprot": (92.540, 3), "ProtConn": (3.511, 3),
               "ProtUnconn": (3.950, 3), "RelConn": (47.058, 3), "ProtConn_Prot": (97.512, 3),
               "ProtConn_Unprot": (2.488, 3), "ProtConn_Within": (94.784, 3), "ProtConn_Contig": (2.728, 3),
               "ProtConn_Within_land": (3.327, 3), "ProtConn_Contig_land": (0.096, 3),
               "ProtConn_Unprot_land": (0.087, 3)}
    for key, (value, digits) in printed.items():
        assert round(r[key], digits) == value, key


def _run(*args):
    return subprocess.run([sys.executable, "-m", "econet.cli.main", *args], capture_output=True, text=True)


def test_cli_protconn_json_keys_are_csv_columns(tmp_path):
    pas = _gdf([shapely.box(10_000, 10_000, 20_000, 20_000), shapely.box(30_000, 10_000, 40_000, 20_000)])
    region = _region(shapely.box(0, 0, 100_000, 100_000))
    pas.to_file(tmp_path / "pas.gpkg")
    region.to_file(tmp_path / "regions.gpkg")
    out = tmp_path / "res.csv"
    p = _run("protconn", str(tmp_path / "pas.gpkg"), "--regions", str(tmp_path / "regions.gpkg"),
             "--region-id", "name", "--distance", "10km", "--distance", "30km", "--probability", "0.5",
             "--distance-type", "edge", "--transboundary", "50km", "--area-attribute", "intersected",
             "--out", str(out), "--format", "json", "--quiet")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    with open(out, newline="") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS
    assert [list(r) for r in rows] == [COLUMNS, COLUMNS]
    assert rows[0]["distance"] == "10km" and rows[1]["distance_m"] == 30_000
    assert rows[0]["crs"] == "EPSG:3035"


def test_cli_geographic_input_reprojected_with_note(tmp_path):
    pas = _gdf([shapely.box(10_000, 10_000, 20_000, 20_000)]).to_crs(4326)
    region = _region(shapely.box(0, 0, 100_000, 100_000)).to_crs(4326)
    pas.to_file(tmp_path / "pas.geojson")
    region.to_file(tmp_path / "regions.geojson")
    p = _run("protconn", str(tmp_path / "pas.geojson"), "--regions", str(tmp_path / "regions.geojson"),
             "--region-id", "name", "--distance", "10km", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert "equal-area" in p.stderr
    row = json.loads(p.stdout)[0]
    assert "+proj=laea" in row["crs"]
    assert row["Prot"] == pytest.approx(1.0, rel=1e-3)


def test_cli_pc_json_and_node_outputs(tmp_path):
    pas = _gdf([shapely.box(0, 0, 5000, 5000), shapely.box(11_000, 0, 16_000, 5000),
                shapely.box(7500, 2000, 8500, 3000)])
    pas.to_file(tmp_path / "nodes.gpkg")
    out = tmp_path / "out" / "nodes.gpkg"
    p = _run("pc", str(tmp_path / "nodes.gpkg"), "--distance", "2km", "--probability", "0.5", "--metric", "PC",
             "--distance-type", "edge", "--out", str(out), "--format", "json", "--quiet")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert {"PCnum", "EC", "PC"} <= set(obj)
    assert obj["EC"] == pytest.approx(math.sqrt(obj["PCnum"]))
    nodes = gpd.read_file(out)
    assert {"dPC", "dPCintra", "dPCflux", "dPCconnector"} <= set(nodes.columns)
    assert nodes["dPCconnector"].iloc[2] > 0
    assert (tmp_path / "out" / "nodes.csv").exists() and (tmp_path / "out" / "nodes_overall.csv").exists()
    p = _run("pc", str(tmp_path / "nodes.gpkg"), "--distance", "6km", "--metric", "IIC", "--format", "json")
    assert {"IICnum", "EC", "IIC"} <= set(json.loads(p.stdout))


def test_cli_bad_input_one_line_exit_2(tmp_path):
    pas = _gdf([shapely.box(0, 0, 5000, 5000)])
    pas.to_file(tmp_path / "pas.gpkg")
    _region(shapely.box(0, 0, 1e5, 1e5)).to_file(tmp_path / "r.gpkg")
    p = _run("protconn", str(tmp_path / "pas.gpkg"), "--regions", str(tmp_path / "r.gpkg"),
             "--region-id", "NOPE", "--distance", "10km")
    assert p.returncode == 2 and "NOPE" in p.stderr and "Traceback" not in p.stderr
    p = _run("protconn", str(tmp_path / "pas.gpkg"), "--regions", str(tmp_path / "r.gpkg"),
             "--distance", "ten km")
    assert p.returncode == 2 and "ten km" in p.stderr
