"""Demo step 95: real agreements in the registry, SIMULATED records raising alerts, exact for the owner and
generalized for the partner; re-running adds no alert."""

from __future__ import annotations

import importlib
import json

from econet.demo import DemoContext


def test_demo_step_registry_and_alerts(tmp_path):
    ctx = DemoContext(out=tmp_path, db_url=f"sqlite:///{tmp_path / 'demo.db'}", quiet=True)
    for name in ("30_hub", "35_sharing"):
        importlib.import_module(f"econet.demo.steps.{name}").run(ctx)
    step = importlib.import_module("econet.demo.steps.95_registry_alerts")
    assert step.ORDER == 95
    summary = step.run(ctx)
    assert summary["agreements_and_records_imported"] == 13
    per = {(r["organization"], r["rule"]): r["alerts"] for r in summary["alerts_per_organization"]}
    assert per[(step.PARTNER, "invasive_near_area")] == 1  # the SIMULATED muskrat 1.2 km from the border
    assert per[(step.OWNER, "import_failed")] == 1 and "out of range" in summary["failed_import"]
    assert per[(step.OWNER, "sensitive_new_site")] >= 1 and per[(step.PARTNER, "sensitive_new_site")] >= 1
    assert per.get((step.OWNER, "border_crossing"), 0) >= 1
    ex = summary["generalization_example"]
    owner, partner = ex["owner_sees"], ex["partner_sees"]
    assert owner["hub_id"] == partner["hub_id"] and owner["coordinate_precision"] is None
    assert partner["coordinate_precision"] == 0.1 and "0.1 degree" in partner["data_generalizations"]
    assert round(partner["lon"], 1) == partner["lon"] and abs(partner["lon"] - owner["lon"]) <= 0.05 + 1e-9
    saved = json.loads((tmp_path / "registry_alerts" / "alerts_by_organization.json").read_text(encoding="utf-8"))
    assert saved["alerts_per_organization"] == summary["alerts_per_organization"]
    registry = json.loads((tmp_path / "registry_alerts" / "registry.json").read_text(encoding="utf-8"))
    joint = next(r for r in registry["records"] if r["key"] == "amur-cameras-joint-sim")
    assert "SIMULATED" in joint["title"]
    assert {p["recognized_on"] for p in registry["parties"] if p["record"] == joint["key"]} == {"2021-02-01", "2021-03-15"}
    assert (tmp_path / "registry_alerts" / "registry_csv" / "records.csv").exists()
    again = step.run(ctx)  # re-runnable: nothing alerts twice
    assert again["alerts_per_organization"] == summary["alerts_per_organization"]
    assert again["alerts_for_records_already_in_hub"] == 0 and again["alerts_after_sharing_with_partner"] == 0
