"""Demo step 90 on the real demo region: coverage per country, complexes, carbon per PA, files written."""

from __future__ import annotations

import importlib
import json

import pandas as pd
import pytest

from econet.demo import DemoContext


def test_demo_step_coverage_and_carbon(tmp_path):
    step = importlib.import_module("econet.demo.steps.90_coverage_services")
    ctx = DemoContext(out=tmp_path, db_url="sqlite://", quiet=True)
    summary = step.run(ctx)
    json.dumps(summary)                                   # the demo saves it as JSON
    for f in ("coverage.csv", "coverage_by_iucn.csv", "coverage_by_designation.csv", "coverage.gpkg",
              "coverage.png", "transboundary_complexes.csv", "carbon_per_pa.csv", "carbon_per_country.csv",
              "carbon_pools_not_counted.csv", "carbon_density.tif", "carbon_density_map.png", "carbon_per_pa.png"):
        assert (tmp_path / f).is_file(), f
    cov = pd.read_csv(tmp_path / "coverage.csv").set_index("region_id")
    assert set(cov.index) == {"CHN", "RUS", "PRK"}
    assert 0 < cov.loc["CHN", "protected_pct"] < cov.loc["RUS", "protected_pct"] < 100
    # Land of the Leopard (RUS) and Hunchun (CHN) footprints are ~10.5 km apart: one complex at 15 km
    assert any("Hunchun" in c and "Land of the Leopard" in c for c in summary["transboundary_complexes"])
    per_pa = pd.read_csv(tmp_path / "carbon_per_pa.csv")
    assert (per_pa["total_mg"] > 0).all()
    # overlapping PAs (Kedrovaya Pad lies inside Land of the Leopard) count once in the network total
    assert summary["carbon_in_pa_network_tg"] < per_pa["total_mg"].sum() / 1e6
    assert "c_above" in summary["carbon_pools_not_counted"]
    assert summary["carbon_total_tg"] == pytest.approx(
        pd.read_csv(tmp_path / "carbon_by_class.csv")["total_mg"].sum() / 1e6, abs=0.05)
