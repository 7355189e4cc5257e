"""Coverage per region: crosswalk, overlaps counted once with the strictest category, complexes; CLI.

Constructed squares (km) with answers worked out by hand, plus the real PA facts and the demo region.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from econet.analytics import coverage as cv
from econet.errors import EconetError

CRS = "EPSG:6933"  # equal-area, metres
KM = 1000.0


def sq(x0, y0, x1, y1):
    return box(x0 * KM, y0 * KM, x1 * KM, y1 * KM)


@pytest.fixture()
def layers():
    """Region A = 0..10 x 0..10 km (CHN), region B = 10..20 x 0..10 km (RUS).

    P1 (II, 2..6 x 2..6) and P2 (Ia, 4..8 x 4..8) overlap on 4..6 x 4..6 (4 km2) in A;
    P3 (11..13 x 0..2, 'zapovednik' without a category) in B; P4 a biosphere reserve over all of B.
    """
    regions = gpd.GeoDataFrame({"iso3": ["CHN", "RUS"], "name": ["A", "B"]},
                               geometry=[sq(0, 0, 10, 10), sq(10, 0, 20, 10)], crs=CRS)
    pas = gpd.GeoDataFrame({
        "pid": [1, 2, 3, 4], "name": ["P1", "P2", "P3", "P4"], "iso3": ["CHN", "CHN", "RUS", "RUS"],
        "designation": ["national park", "national nature reserve", "zapovednik", "UNESCO-MAB Biosphere Reserve"],
        "iucn": ["II", "Ia", None, None]},
        geometry=[sq(2, 2, 6, 6), sq(4, 4, 8, 8), sq(11, 0, 13, 2), sq(10, 0, 20, 10)], crs=CRS)
    return pas, regions


def _classified(pas, **kw):
    return cv.classify(pas, designation_field="designation", country_field="iso3", iucn_field="iucn",
                       id_field="pid", **kw)


def test_overlaps_counted_once_strictest_category_wins(layers):
    pas, regions = layers
    cov = cv.coverage(_classified(pas), regions, region_id="iso3", region_name="name", pa_id="pid", pa_name="name")
    reg = cov.regions.set_index("region_id")
    # A: 16 + 16 - 4 = 28 km2 of 100; B: P3 only (the biosphere reserve is left out) = 4 km2
    assert reg.loc["CHN", "protected_km2"] == pytest.approx(28.0)
    assert reg.loc["CHN", "protected_pct"] == pytest.approx(28.0)
    assert reg.loc["RUS", "protected_km2"] == pytest.approx(4.0)
    by = cov.by_iucn.set_index(["region_id", "iucn_cat"])["area_km2"]
    assert by[("CHN", "Ia")] == pytest.approx(16.0)        # the whole Ia square
    assert by[("CHN", "II")] == pytest.approx(12.0)        # 16 minus the 4 km2 under Ia
    assert by[("RUS", "Ia")] == pytest.approx(4.0)         # zapovednik -> Ia from the crosswalk
    assert cov.by_iucn.groupby("region_id")["area_km2"].sum()["CHN"] == pytest.approx(28.0)
    des = cov.by_designation.set_index(["region_id", "designation"])
    assert des.loc[("CHN", "National Park"), "gross_area_km2"] == pytest.approx(16.0)
    assert des.loc[("CHN", "National Park"), "area_km2"] == pytest.approx(12.0)
    assert list(cov.excluded["pa_id"]) == [4]


def test_biosphere_reserve_included_on_request(layers):
    pas, regions = layers
    cov = cv.coverage(_classified(pas), regions, region_id="iso3", pa_id="pid", include_international=True)
    reg = cov.regions.set_index("region_id")
    assert reg.loc["RUS", "protected_pct"] == pytest.approx(100.0)
    by = cov.by_iucn.set_index(["region_id", "iucn_cat"])["area_km2"]
    assert by[("RUS", "Ia")] == pytest.approx(4.0)
    assert by[("RUS", "Not Applicable")] == pytest.approx(96.0)


def test_transboundary_complexes(layers):
    pas, _ = layers
    c = _classified(pas).iloc[:3]
    # P2 (4..8 x 4..8) to P3 (11..13 x 0..2): dx 3 km, dy 2 km -> sqrt(13) km
    cx, pairs = cv.transboundary_complexes(c, country="iso3", distance_m=4 * KM, pa_id="pid", pa_name="name")
    assert len(cx) == 1
    assert cx.iloc[0]["countries"] == "CHN;RUS"
    assert cx.iloc[0]["pa_ids"] == "1;2;3"
    assert cx.iloc[0]["min_cross_border_gap_km"] == pytest.approx(np.sqrt(13.0))
    assert cx.iloc[0]["area_km2"] == pytest.approx(32.0)
    assert set(pairs["name_a"] + pairs["name_b"]) == {"P2P3"}      # P1-P3 gap is 5 km
    cx3, _ = cv.transboundary_complexes(c, country="iso3", distance_m=3 * KM, pa_id="pid")
    assert len(cx3) == 0                                            # P1+P2 alone are one country
    with pytest.raises(EconetError):
        cv.transboundary_complexes(c, country="iso3", distance_m=-1)


def test_crosswalk_matching_and_override(layers):
    cw = cv.load_crosswalk()
    r = cv.match_designation("zapovednik (state nature biosphere reserve)", "RUS", cw)
    assert (r["designation_eng"], r["iucn_cat"], r["desig_type"]) == ("State Nature Reserve (strict)", "Ia", "National")
    assert cv.match_designation("national park", "MNG", cw)["iucn_cat"] == "II"
    assert cv.match_designation("Ramsar Site", "CHN", cw)["desig_type"] == "International"
    assert cv.match_designation("заповедник", "KAZ", cw)["iso3"] == "KAZ"
    assert cv.match_designation("something else entirely", "RUS", cw) is None
    pas, _ = layers
    ov = pd.DataFrame({"pid": ["1"], "iucn_cat": ["Ib"]})
    c = _classified(pas, overrides=ov).set_index("pid")
    assert c.loc[1, "iucn_cat"] == "Ib" and c.loc[1, "iucn_source"] == "override"
    assert c.loc[2, "iucn_source"] == "layer" and c.loc[3, "iucn_source"] == "crosswalk"
    with pytest.raises(EconetError, match="unknown PA"):
        _classified(pas, overrides=pd.DataFrame({"pid": ["99"], "iucn_cat": ["II"]}))
    with pytest.raises(EconetError, match="IUCN"):
        _classified(pas, overrides=pd.DataFrame({"pid": ["1"], "iucn_cat": ["VII"]}))


def test_shipped_crosswalk_is_complete_and_sourced():
    cw = cv.load_crosswalk()
    assert {"CHN", "RUS", "MNG", "KAZ", "KGZ", "TJK", "PRK", "KOR", "ALL"} <= set(cw["iso3"])
    assert (cw["source"].str.len() > 10).all()
    assert cw["desig_type"].isin(["National", "International", "Regional"]).all()
    assert not cw.duplicated(["iso3", "designation"]).any()


def test_bad_crosswalk(tmp_path):
    p = tmp_path / "cw.csv"
    p.write_text("iso3,designation,designation_eng,desig_type,iucn_cat\nRUS,x,X,National,VIII\n")
    with pytest.raises(EconetError, match="row 2"):
        cv.load_crosswalk(p)


def test_real_pa_facts_match_the_crosswalk(shared):
    """Every designation in the real PA facts table maps to a crosswalk row of its country, and where the
    sources give a PA's IUCN category it equals the crosswalk's usual one."""
    facts = pd.read_csv(shared / "data" / "protected_areas_facts" / "pa_facts.csv")
    cw = cv.load_crosswalk()
    for _, f in facts.iterrows():
        row = cv.match_designation(f["designation"], f["iso3"], cw)
        assert row is not None, f["designation"]
        assert row["iso3"] == f["iso3"]
        if isinstance(f["iucn_cat"], str):
            assert row["iucn_cat"] == f["iucn_cat"], f["name"]


def test_demo_region_coverage_against_direct_union():
    """Coverage of the real demo region equals the area of the PA footprints' union inside each country."""
    from econet.demo.region import build_region

    r = build_region()
    c = cv.classify(r.pas, designation_field="designation", country_field="iso3", iucn_field="iucn_cat",
                    id_field="focal_id")
    cov = cv.coverage(c, r.countries, region_id="iso3", pa_id="focal_id")
    for _, reg in r.countries.iterrows():
        direct = r.pas.union_all().intersection(reg.geometry).area / 1e6
        got = cov.regions.set_index("region_id").loc[reg["iso3"], "protected_km2"]
        assert got == pytest.approx(direct, rel=1e-9)
    assert cov.by_iucn["area_km2"].sum() == pytest.approx(cov.regions["protected_km2"].sum())
    assert set(c.loc[c["iso3"] == "RUS", "iucn_cat"]) <= {"Ia", "II"}


def _write(layers, tmp_path):
    pas, regions = layers
    pas.to_file(tmp_path / "pas.gpkg", layer="pas")
    regions.to_file(tmp_path / "regions.gpkg", layer="regions")


def test_cli_writes_every_output(layers, tmp_path):
    from econet.cli.main import main
    _write(layers, tmp_path)
    out = tmp_path / "out"
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(["coverage", str(tmp_path / "pas.gpkg"), "--regions", str(tmp_path / "regions.gpkg"), "--out", str(out),
              "--id-field", "pid", "--name-field", "name", "--country-field", "iso3", "--iucn-field", "iucn",
              "--distance-km", "4", "--format", "json", "--quiet"])
    assert e.value.code in (0, None)
    for f in ("coverage.csv", "coverage_by_iucn.csv", "coverage_by_designation.csv", "transboundary_complexes.csv",
              "transboundary_pairs.csv", "protected_areas_classified.csv", "coverage.gpkg", "coverage.png"):
        assert (out / f).is_file(), f
    import pyogrio
    names = {n for n, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert {"regions", "protected_by_iucn", "protected_areas", "transboundary_complexes"} <= names
    assert (out / "coverage.png").read_bytes()[:4] == b"\x89PNG"
    cov = pd.read_csv(out / "coverage.csv").set_index("region_id")
    assert cov.loc["CHN", "protected_km2"] == pytest.approx(28.0)


def test_cli_bad_input_one_line_exit_2(layers, tmp_path, capsys):
    from econet.cli.main import main
    _write(layers, tmp_path)
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as e:
        main(["coverage", str(tmp_path / "pas.gpkg"), "--regions", str(tmp_path / "regions.gpkg"), "--out", str(out),
              "--designation-field", "nope", "--quiet"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nope" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_reads_wdpa_schema_as_is(tmp_path):
    """A WDPA download in lon/lat: fields found by name, proposed sites and biosphere reserves left out,
    the crosswalk fills 'Not Reported' categories, areas computed in an equal-area CRS."""
    from econet.cli.main import main
    regions = gpd.GeoDataFrame({"ISO_A3": ["RUS", "MNG"]}, geometry=[box(110, 49, 112, 51), box(110, 47, 112, 49)],
                               crs=4326)
    wdpa = gpd.GeoDataFrame({
        "WDPAID": [11, 12, 13, 14], "NAME": ["Z", "NP", "Prop", "BR"],
        "DESIG": ["Zapovednik", "Baigaliin tsogtsolbor gazar", "Zakaznik", "Biosphere Reserve"],
        "DESIG_ENG": ["State Nature Reserve", "National Park", "Nature Sanctuary", "UNESCO-MAB Biosphere Reserve"],
        "IUCN_CAT": ["Ia", "Not Reported", "IV", "Not Applicable"],
        "STATUS": ["Designated", "Designated", "Proposed", "Designated"], "ISO3": ["RUS", "MNG", "RUS", "RUS"]},
        geometry=[box(110.5, 49.5, 111, 50), box(110.5, 48.5, 111, 48.9), box(111, 50, 111.5, 50.5),
                  box(110, 49, 112, 51)], crs=4326)
    regions.to_file(tmp_path / "r.gpkg")
    wdpa.to_file(tmp_path / "wdpa.gpkg")
    out = tmp_path / "o"
    with redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        main(["coverage", str(tmp_path / "wdpa.gpkg"), "--regions", str(tmp_path / "r.gpkg"), "--out", str(out),
              "--quiet"])
    assert e.value.code in (0, None)
    pas = pd.read_csv(out / "protected_areas_classified.csv").set_index("WDPAID")
    assert 13 not in pas.index                                          # proposed
    assert pas.loc[12, "iucn_cat"] == "II" and pas.loc[12, "iucn_source"] == "crosswalk"
    assert pas.loc[11, "iucn_cat"] == "Ia" and pas.loc[11, "iucn_source"] == "layer"
    assert list(pd.read_csv(out / "excluded.csv")["pa_id"]) == [14]
    assert "Proposed" in (out / "notes.txt").read_text() or "proposed" in (out / "notes.txt").read_text()
    # the 0.5 x 0.5 degree zapovednik at ~49.75 N, measured on the ellipsoid
    from pyproj import Geod
    area = abs(Geod(ellps="WGS84").geometry_area_perimeter(box(110.5, 49.5, 111, 50))[0]) / 1e6
    cov = pd.read_csv(out / "coverage.csv").set_index("region_id")
    assert cov.loc["RUS", "protected_km2"] == pytest.approx(area, rel=1e-3)


def test_real_countries_and_documented_partnership(shared):
    """Whole countries (Natural Earth 1:50m) with the real PA facts (approximate footprints): per-category
    areas add up to the protected total, and the complexes found within 10 km include the Katun (RUS) -
    Katon-Karagay (KAZ) pair that the facts document as the transboundary reserve 'Altai' (2011)."""
    from econet.demo.region import pa_footprints, read_pa_facts
    from econet.geo.crs import equal_area_crs

    facts = read_pa_facts(shared / "data" / "protected_areas_facts" / "pa_facts.csv")
    countries = gpd.read_file(shared / "data" / "ne_admin0" / "ne_50m_admin_0_countries.geojson")
    countries = countries[countries["ISO_A3"].isin(["CHN", "RUS", "MNG", "KAZ", "PRK"])]
    countries = countries[["ISO_A3", "NAME", "geometry"]].rename(columns={"ISO_A3": "iso3"})
    bounds = (80.0, 40.0, 140.0, 55.0)
    crs = equal_area_crs(bounds)
    countries = countries.to_crs(crs)
    pas, _ = pa_footprints(facts, bounds, crs, countries)
    c = cv.classify(pas, designation_field="designation", country_field="iso3", iucn_field="iucn_cat",
                    id_field="focal_id")
    cov = cv.coverage(c, countries, region_id="iso3", pa_id="focal_id")
    tot = cov.by_iucn.groupby("region_id")["area_km2"].sum()
    reg = cov.regions.set_index("region_id")
    for iso in tot.index:
        assert tot[iso] == pytest.approx(reg.loc[iso, "protected_km2"], rel=1e-9)
    assert reg.loc["CHN", "strict_ia_to_ii_km2"] == 0          # no Chinese category is reported
    cx, pairs = cv.transboundary_complexes(c, country="iso3", distance_m=10_000, pa_id="focal_id", pa_name="name")
    found = {frozenset((a, b)) for a, b in zip(pairs["name_a"], pairs["name_b"])}
    assert frozenset(("Katun Nature Reserve (Katunsky)", "Katon-Karagay National Park")) in found
    katun = facts.set_index("name").loc["Katun Nature Reserve (Katunsky)", "transboundary_partner"]
    assert "Katon-Karagay" in katun
