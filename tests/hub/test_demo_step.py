"""The demo step fills a hub with the two partners' simulated camera-trap data and writes its exports."""

from __future__ import annotations

import importlib
import json
import zipfile

from econet.demo import DemoContext


def test_demo_step_fills_the_hub(tmp_path):
    step = importlib.import_module("econet.demo.steps.30_hub")
    ctx = DemoContext(out=tmp_path, db_url=f"sqlite:///{tmp_path / 'demo.db'}", quiet=True)
    summary = step.run(ctx)
    assert summary["cn_rows"] == 3000 and summary["ru_rows"] == 400
    assert set(summary["by_country"]) >= {"CN", "RU"}
    assert 0 < summary["within_10km_of_border"] < summary["observations"]
    hub = tmp_path / "hub"
    assert (hub / "within_10km_of_border.gpkg").stat().st_size > 0
    with zipfile.ZipFile(hub / "lotl-cameras-sim-dwca.zip") as z:
        assert {"occurrence.txt", "meta.xml", "eml.xml"} <= set(z.namelist())
    dp = json.loads((hub / "lotl-cameras-sim-camtrap-dp" / "datapackage.json").read_text())
    assert "SIMULATED" in dp["title"]
