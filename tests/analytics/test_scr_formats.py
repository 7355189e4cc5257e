"""Readers for secr's input formats: text (trapID and XY forms, usage) and the CSV forms."""

from __future__ import annotations

import numpy as np
import pytest

from econet.analytics import secr_formats as sf
from econet.errors import EconetError


def ref(shared, *parts):
    return shared.joinpath("reference", *parts)


def _histories(ch):
    """Set of (animal id, occasion, detector id, count) for comparisons across formats."""
    return {(ch.animal_ids[i], int(s), ch.traps.ids[k], int(c))
            for i, s, k, c in zip(ch.ind, ch.occ, ch.trap, ch.count)}


def test_density_text_xy_form_equals_captdata_csv(shared):
    # secr extdata capt.txt / trap.txt (DENSITY demo data, XY capture form with a covariate column)
    # are the source of captdata (secr ?secrdemo: 235 captures of 76 animals, 5 occasions).
    t = ref(shared, "secr_extdata_text")
    txt = sf.read_capthist(t / "capt.txt", t / "trap.txt", "multi")[0]
    c = ref(shared, "secr_secrdemo")
    csv = sf.read_capthist(c / "captdata_captures.csv", c / "captdata_traps.csv", "multi")[0]
    assert txt.n == 76 and txt.n_detections == 235 and txt.n_occasions == 5
    assert _histories(txt) == _histories(csv)
    forced = sf.read_capthist(t / "capt.txt", t / "trap.txt", "multi", fmt="XY")[0]
    assert _histories(forced) == _histories(txt)


def test_density_xy_dataframe_csv(shared):
    c = ref(shared, "secr_secrdemo")
    xy = sf.read_capthist(c / "captXY.csv", c / "trapXY.csv", "multi")[0]
    csv = sf.read_capthist(c / "captdata_captures.csv", c / "captdata_traps.csv", "multi")[0]
    assert _histories(xy) == _histories(csv)


def test_trapid_text_form_equals_csv(shared):
    t = ref(shared, "secr_extdata_text")
    txt = sf.read_capthist(t / "stoatcapt.txt", t / "stoattrap.txt", "proximity")[0]
    s = ref(shared, "secr_stoatDNA")
    csv = sf.read_capthist(s / "stoatCH_captures.csv", s / "stoatCH_traps.csv", "proximity")[0]
    assert txt.session == "MatakitakiStoats"
    assert _histories(txt) == _histories(csv)
    # stoatCH has 7 daily occasions (secr ?stoatDNA); the text file's last capture fixes it
    assert txt.n == 20 and len(txt.traps.ids) == 94


def test_removals_and_sessions(shared):
    d = ref(shared, "secr_OVpossum")
    chs = sf.read_capthist(d / "OVpossumCH_captures.csv", d / "OVpossumCH_traps.csv", "multi")
    assert [c.session for c in chs] == ["49", "50", "51", "52", "53", "54"]
    assert [c.n for c in chs] == [223, 206, 148, 162, 154, 135]
    assert all((c.dead < c.n_occasions).any() for c in chs[:2])


def test_usage_in_trap_text(tmp_path):
    traps = tmp_path / "traps.txt"
    traps.write_text("# detector x y usage\nA 0 0 11011\nB 0 20 11111 / cov\nC 20 0 1 1 1 1 0.5\n")
    t = sf.read_traps(traps)[None]
    np.testing.assert_array_equal(t.usage, [[1, 1, 0, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0.5]])
    capt = tmp_path / "capt.txt"
    capt.write_text("S1 a 1 A\nS1 a -2 B\nS1 b 5 C\n")
    ch = sf.read_capthist(capt, traps, "proximity")[0]
    assert ch.n_occasions == 5 and ch.dead.tolist() == [1, 5]


def test_bad_input_names_row_and_file(tmp_path):
    traps = tmp_path / "traps.txt"
    traps.write_text("A 0 zero\n")
    with pytest.raises(EconetError) as e:
        sf.read_traps(traps)
    assert "row 1" in str(e.value) and "traps.txt" in str(e.value)
    traps.write_text("A 0 0\nB 10 0\n")
    capt = tmp_path / "capt.txt"
    capt.write_text("1 a 1 A\n1 a 2 Z\n")
    with pytest.raises(EconetError, match="row 2.*unknown detector"):
        sf.read_capthist(capt, traps, "multi", fmt="trapID")


def test_mask_csv_spacing(shared):
    m = sf.read_mask(ref(shared, "secr_possum", "possum.model.0_mask.csv"))
    assert m.spacing == pytest.approx(20.0) and len(m.xy) == 5120
    assert m.cell_area_ha == pytest.approx(0.04)


def test_capthist_from_camtrap_tables():
    import pandas as pd
    deps = pd.DataFrame({
        "deploymentID": ["d1", "d2", "d3"], "locationID": ["L1", "L2", "L1"],
        "latitude": [43.10, 43.11, 43.10], "longitude": [131.00, 131.01, 131.00],
        "deploymentStart": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"],
        "deploymentEnd": ["2024-01-02T12:00:00Z", "2024-01-04T00:00:00Z", "2024-01-04T00:00:00Z"]})
    obs = pd.DataFrame({
        "deploymentID": ["d1", "d1", "d2", "d3", "d2"],
        "eventStart": ["2024-01-01T03:00:00Z", "2024-01-01T05:00:00Z", "2024-01-02T01:00:00Z",
                       "2024-01-03T22:00:00Z", "2024-01-03T02:00:00Z"],
        "individualID": ["T1", "T1", "T1", "T2", None],
        "scientificName": ["Panthera tigris"] * 5})
    ch = sf.capthist_from_camtrap(deps, obs, species="Panthera tigris", occasion_days=1)
    assert ch.n_occasions == 3 and ch.n == 2
    assert ch.traps.ids.tolist() == ["L1", "L2"]
    # L1: d1 active days 0-1.5, d3 days 2-3; L2 all three days
    np.testing.assert_allclose(ch.traps.usage, [[1.0, 0.5, 1.0], [1.0, 1.0, 1.0]])
    # two T1 photos at L1 on day 1 collapse to one binary detection
    assert ch.n_detections == 3
    d = np.hypot(*(ch.traps.xy[0] - ch.traps.xy[1]))
    assert 1000 < d < 1600   # 0.01 deg lat and lon apart near 43 N, in metres (UTM 52N)
