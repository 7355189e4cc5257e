"""Waterbird site analyses on constructed counts with known answers, and the shipped population table."""

from __future__ import annotations


import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from econet.analytics import waterbirds as wb
from econet.errors import EconetError


def run_cli(args) -> int:
    """Run the econet CLI in-process; it always ends with sys.exit, whose code is returned."""
    from econet.cli.main import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize("raw, expected", [
    (0.4, 1), (1.0, 1), (1.5, 2), (7.49, 7), (10.0, 10),          # 1-10: nearest 1
    (10.6, 10), (12.4, 10), (12.5, 15), (37.5, 40), (65.0, 65), (99.0, 100),  # 11-100: nearest 5
    (101.0, 100), (104.9, 100), (105.0, 110), (445.0, 450), (999.0, 1000),     # 101-1000: nearest 10
    (1749.0, 1700), (1750.0, 1800), (2570.0, 2600), (12345.0, 12300),          # >1000: nearest 100
])
def test_round_threshold_follows_wetlands_international_steps(raw, expected):
    assert wb.round_threshold(raw) == expected


def test_one_percent_of_range_midpoint_and_cap():
    assert wb.one_percent_threshold(low=6250, high=6750) == 65          # White-naped Crane, mid 6,500
    assert wb.one_percent_threshold(11600) == 120                        # 116 -> nearest 10
    assert wb.one_percent_threshold(2_000_000) == 20_000                 # WPE cap
    assert wb.one_percent_threshold(5_000_000) == 20_000
    assert wb.one_percent_threshold(1_990_000) == 19_900
    with pytest.raises(EconetError):
        wb.one_percent_threshold(low=10, high=5)
    with pytest.raises(EconetError):
        wb.one_percent_threshold()


def test_shipped_population_table_is_consistent_and_sourced():
    p = wb.load_populations()
    assert {"leucogeranus_east", "antigone_vipio", "grus_monacha", "grus_japonensis_continental",
            "anser_cygnoid", "anser_erythropus_east_asia", "cygnus_cygnus_east_asia"} <= set(p["population_id"])
    assert p["population_id"].is_unique
    for _, r in p.iterrows():
        est = None if pd.isna(r["estimate"]) else r["estimate"]
        assert r["one_percent"] == wb.one_percent_threshold(est, r["estimate_min"], r["estimate_max"]), r["population_id"]
        assert isinstance(r["source"], str) and len(r["source"]) > 20
        assert str(r["source_url"]).startswith("http")
    vipio = p.set_index("population_id").loc["antigone_vipio"]
    assert (vipio["estimate_min"], vipio["estimate_max"], vipio["one_percent"]) == (6250, 6750, 65)


# ---------------------------------------------------------------------------------------------- seasons, totals
def test_season_labels():
    s = wb.season_of(pd.Series(["2019-12-20", "2020-01-15", "2020-04-01", "2020-07-01", "2020-10-01"]))
    assert s["season"].tolist() == ["winter", "winter", "spring", "summer", "autumn"]
    assert s["year"].tolist() == ["2019/20", "2019/20", "2020", "2020", "2020"]


def _crane_counts() -> pd.DataFrame:
    rows = []
    # Site A (Korea): two count units on the same date are summed; the later visit is the peak.
    for y in range(2015, 2020):
        rows += [dict(site_id="A", unit_id="u1", species="Antigone vipio", date=f"{y}-12-15", count=1000),
                 dict(site_id="A", unit_id="u2", species="Antigone vipio", date=f"{y}-12-15", count=1500),
                 dict(site_id="A", unit_id="u1", species="Antigone vipio", date=f"{y + 1}-01-15", count=2900)]
    # Site B (China): below the 1% threshold (65)
    for y in range(2015, 2020):
        rows.append(dict(site_id="B", species="Antigone vipio", date=f"{y + 1}-01-10", count=50))
    # Site C (China): 21,000 Greater White-fronted Geese every winter -> Criterion 5 and 6
    for y in range(2015, 2020):
        rows.append(dict(site_id="C", species="Anser albifrons", date=f"{y + 1}-01-12", count=21000))
    df = pd.DataFrame(rows)
    meta = {"A": ("KR", 127.3, 38.2), "B": ("CN", 116.1, 29.1), "C": ("CN", 112.9, 29.3)}
    df["country"] = df["site_id"].map(lambda s: meta[s][0])
    df["lon"] = df["site_id"].map(lambda s: meta[s][1])
    df["lat"] = df["site_id"].map(lambda s: meta[s][2])
    return df


def test_site_totals_sum_units_and_take_the_seasonal_peak():
    t = wb.site_totals(_crane_counts())
    a = t[t["site_id"] == "A"]
    assert len(a) == 5 and set(a["season"]) == {"winter"}
    assert (a["total"] == 2900).all() and (a["n_visits"] == 2).all()
    s = wb.site_summary(t)
    assert s.set_index("site_id").loc["A", "max"] == 2900 and s.set_index("site_id").loc["B", "mean"] == 50


def test_regularly_supports():
    assert wb.regularly_supports([70, 70, 10], 65) == (True, "two-thirds")
    assert wb.regularly_supports([70, 10, 10], 65)[0] is False
    assert wb.regularly_supports([200, 10, 10, 10, 100], 65) == (True, "mean")   # mean 66
    assert wb.regularly_supports([200, 10, 10], 65) == (True, "mean (provisional)")
    assert wb.regularly_supports([100, 100], 65)[0] is False                     # fewer than 3 seasons


def test_site_importance_criteria_and_shares():
    res = wb.site_importance(_crane_counts())
    sp = res["species"].set_index("site_id")
    assert sp.loc["A", "population_id"] == "antigone_vipio"
    assert sp.loc["A", "one_percent"] == 65
    assert sp.loc["A", "share_pct"] == pytest.approx(100 * 2900 / 6500)      # 44.6 % of the population
    assert bool(sp.loc["A", "criterion6"]) and not bool(sp.loc["B", "criterion6"])
    assert sp.loc["C", "share_pct"] == pytest.approx(100 * 21000 / 257000)
    sites = res["sites"].set_index("site_id")
    assert bool(sites.loc["C", "criterion5"]) and not bool(sites.loc["A", "criterion5"])
    assert bool(sites.loc["A", "eaaf"]) and not bool(sites.loc["B", "eaaf"])
    ranked = res["ranked"]
    assert ranked["site_id"].tolist() == ["A", "C", "B"]     # A: 44.6 % share; C: 8.2 %; B: none
    assert ranked.iloc[1]["criteria"] == "Ramsar 5, Ramsar 6, EAAF"
    assert not bool(ranked.iloc[2]["critical"])
    shares = wb.population_shares(_crane_counts())
    assert shares.loc["B", "antigone_vipio"] == pytest.approx(100 * 50 / 6500)


def test_staging_criterion_only_when_asked():
    df = pd.DataFrame([dict(site_id="S", species="Grus monacha", date=f"{y}-04-01", count=40) for y in range(2016, 2021)])
    assert not wb.site_importance(df)["sites"]["eaaf_staging"].any()
    res = wb.site_importance(df, staging_share=0.25)   # 0.25 % of 15,000 = 37.5 <= 40
    assert res["sites"]["eaaf_staging"].all() and not res["sites"]["criterion6"].any()


def test_ambiguous_species_needs_population_id():
    df = pd.DataFrame([dict(site_id="H", species="Grus japonensis", date=f"{y}-01-10", count=300) for y in range(2016, 2021)])
    with pytest.raises(EconetError, match="several populations"):
        wb.site_importance(df)
    df["population_id"] = "grus_japonensis_continental"
    sp = wb.site_importance(df)["species"]
    assert sp["share_pct"].iloc[0] == pytest.approx(100 * 300 / 2022)


def test_bad_counts_name_the_row():
    df = _crane_counts()
    df.loc[3, "count"] = -5
    with pytest.raises(EconetError) as e:
        wb.site_totals(df)
    assert e.value.row == 5 and e.value.field == "count"
    with pytest.raises(EconetError, match="date"):
        wb.site_totals(df.drop(columns=["date"]).assign(count=1))


# ---------------------------------------------------------------------------------------------- coverage
def test_survey_coverage_area_and_polygon_shares():
    crs = "EPSG:6933"   # WGS84 equal-area cylindrical: planar areas are true areas
    x0, y0 = 11_000_000.0, 5_000_000.0
    habitat = gpd.GeoDataFrame({"country": ["MN", "MN", "RU"]}, geometry=[
        box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 5000, y0, x0 + 6000, y0 + 1000),
        box(x0, y0 + 5000, x0 + 2000, y0 + 7000)], crs=crs)
    surveyed = gpd.GeoDataFrame(geometry=[box(x0 - 10, y0 - 10, x0 + 1010, y0 + 1010),       # all of polygon 1
                                          box(x0, y0 + 5000, x0 + 1000, y0 + 7000)], crs=crs)   # half of polygon 3
    t = wb.survey_coverage(habitat, surveyed).set_index("country")
    assert t.loc["MN", "habitat_km2"] == pytest.approx(2.0, rel=1e-4)
    assert t.loc["MN", "area_share_pct"] == pytest.approx(50.0, rel=1e-3)
    assert t.loc["MN", "polygon_share_pct"] == pytest.approx(50.0)
    assert t.loc["RU", "area_share_pct"] == pytest.approx(50.0, rel=1e-3)
    assert t.loc["RU", "polygon_share_pct"] == pytest.approx(100.0)
    flagged = habitat.assign(surveyed=[True, False, False])
    t2 = wb.survey_coverage(flagged).set_index("country")
    assert t2.loc["MN", "area_share_pct"] == pytest.approx(50.0, rel=1e-3) and t2.loc["RU", "n_surveyed"] == 0


# ---------------------------------------------------------------------------------------------- breeding
def test_breeding_success_juvenile_share_and_fledged_per_pair():
    from scipy.stats import binomtest

    df = pd.DataFrame({"site_id": ["Z", "Z"], "species": ["Grus vipio"] * 2, "year": [2020, 2020],
                       "juveniles": [10, 20], "adults": [90, 80], "families": [8, 12],
                       "pairs": [5, 5], "fledged": [6, 9]})
    r = wb.breeding_success(df).iloc[0]
    assert r["juvenile_share"] == pytest.approx(30 / 200)
    ci = binomtest(30, 200).proportion_ci(confidence_level=0.95, method="wilson")
    assert (r["juvenile_share_low"], r["juvenile_share_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert r["brood_size"] == pytest.approx(30 / 20)
    assert r["fledged_per_pair"] == pytest.approx(1.5)
    with pytest.raises(EconetError):
        wb.breeding_success(df.drop(columns=["juveniles", "pairs"]))


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_sites_end_to_end(tmp_path, capsys):
    counts = tmp_path / "counts.csv"
    _crane_counts().to_csv(counts, index=False)
    out = tmp_path / "out"
    assert run_cli(["waterbirds", "sites", counts, "--out", out, "--format", "csv", "--quiet"]) == 0
    ranked = pd.read_csv(out / "sites_ranked.csv")
    assert ranked["site_id"].tolist() == ["A", "C", "B"]
    assert ranked.loc[0, "max_share_pct"] == pytest.approx(44.615, abs=1e-3)
    assert (out / "critical_sites.png").stat().st_size > 10_000
    summary = pd.read_csv(out / "site_summary.csv").set_index("site_id")
    assert summary.loc["A", "max"] == 2900 and summary.loc["B", "mean"] == 50
    for f in ("site_species.csv", "site_seasons.csv", "site_totals.csv", "population_shares.csv"):
        assert (out / f).exists()
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("rank,site_id")


def test_cli_sites_bad_input_exits_2_without_output(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"site_id": ["A"], "species": ["Grus monacha"], "count": ["many"], "date": ["2020-01-01"]}).to_csv(bad, index=False)
    out = tmp_path / "out"
    assert run_cli(["waterbirds", "sites", bad, "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv" in err and "count" in err
    assert not (out / "sites_ranked.csv").exists()


def test_demo_step_simulates_counts_at_real_sites(tmp_path):
    import importlib

    from econet.demo import DemoContext

    step = importlib.import_module("econet.demo.steps.80_waterbirds")
    summary = step.run(DemoContext(out=tmp_path, db_url="sqlite://"))
    assert "SIMULATED" in summary["note"]
    assert summary["largest_white_naped_share"].startswith("Izumi")     # over 40% of the population, as surveyed
    ranked = pd.read_csv(tmp_path / "waterbird_sites_ranked.csv")
    assert ranked.iloc[0]["site_id"] == "poyang" and ranked.iloc[0]["criterion5"]
    assert (tmp_path / "waterbird_critical_sites.png").stat().st_size > 20_000
    cov = pd.read_csv(tmp_path / "waterbird_survey_coverage.csv").set_index("country")
    assert cov.loc["MN", "area_share_pct"] == 0 and cov.loc["JP", "area_share_pct"] == pytest.approx(100)


def test_shipped_country_layer():
    g = wb.east_asia_countries()
    assert {"CN", "RU", "MN", "KR", "KP", "JP", "KZ", "KG", "TJ"} <= set(g["iso_a2"])
    assert g.crs.to_epsg() == 4326
