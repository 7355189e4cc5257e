"""Demo step 35: two partners, the Amur leopard sensitive in Russia; the comparison files show the difference."""

from __future__ import annotations

import csv
import importlib
import json

from econet.demo import DemoContext


def test_demo_step_shows_owner_and_partner_views(tmp_path):
    ctx = DemoContext(out=tmp_path, db_url=f"sqlite:///{tmp_path / 'demo.db'}", quiet=True)
    importlib.import_module("econet.demo.steps.30_hub").run(ctx)
    step = importlib.import_module("econet.demo.steps.35_sharing")
    assert step.ORDER == 35
    summary = step.run(ctx)
    assert summary["leopard_records"] > 0
    assert summary["leopard_records_generalized_for_partner"] == summary["leopard_records"]
    rows = list(csv.DictReader(open(tmp_path / "sharing" / "owner_vs_partner.csv", encoding="utf-8")))
    assert len(rows) == summary["leopard_records"]
    for r in rows:
        assert abs(float(r["owner_lon"]) - float(r["partner_lon"])) <= 0.05 + 1e-9
        assert round(float(r["partner_lon"]), 1) == float(r["partner_lon"])
        assert float(r["partner_uncertainty_m"]) > 10000 and "0.1 degree" in r["partner_dataGeneralizations"]
    assert any(r["owner_lon"] != r["partner_lon"] for r in rows)
    saved = json.loads((tmp_path / "sharing" / "owner_vs_partner.json").read_text())
    assert saved["records_partner_sees"] == saved["records_owner_sees"]  # shared: every record, some generalized
    assert step.run(ctx)["leopard_records"] == summary["leopard_records"]  # re-runnable
