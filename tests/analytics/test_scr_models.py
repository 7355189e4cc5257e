"""SECR models with covariates (secr model formulae): against secr's own test figures and a simulation."""

from __future__ import annotations

import numpy as np
import pytest

from econet.analytics import scr
from econet.analytics import scr_models as sm
from econet.analytics import secr_formats as sf
from econet.errors import EconetError


@pytest.fixture(scope="module")
def captdata(shared):
    d = shared / "reference" / "secr_secrdemo"
    return sf.read_capthist(d / "captdata_captures.csv", d / "captdata_traps.csv", "multi")


def test_density_on_x_matches_secr_relativeD_test(captdata):
    # secr 5.x tests/testthat/test-relativeD.R (MurrayEfford/secr): on
    #   msk <- make.mask(traps(captdata), buffer = 100, type = 'trapbuffer', nx = 32)
    #   fitrD <- secr.fit(captdata, CL = TRUE, mask = msk, model = D ~ x)
    # expect_equal(coef(fitrD)[1,1], 0.01261994, tolerance = 1e-4) (the D.x slope),
    # derivedDcoef(fitrD)[1,1] == 1.700941 (log-D intercept) and region.N(fitrD) E.N == 116.314763.
    # The conditional (relative-density) and full likelihoods share the slope and detection MLEs.
    msk = scr.make_mask(captdata[0].traps.xy, buffer=100, nx=32)
    f = sm.fit_model(captdata, msk, "D ~ x", "multi", "HN")
    assert f.names[:2] == ["D.(Intercept)", "D.x"]
    assert f.beta[1] == pytest.approx(0.01261994, rel=1e-4)
    assert f.beta[0] == pytest.approx(1.700941, rel=1e-4)
    assert f.expected_n()["estimate"] == pytest.approx(116.314763, rel=1e-4)


def test_null_model_equals_the_fast_null_fit(captdata):
    msk = scr.make_mask(captdata[0].traps.xy, buffer=100, nx=32)
    fast = scr.fit(captdata, msk, "multi", "HN")
    general = sm.fit_model(captdata, msk, None, "multi", "HN")
    assert general.loglik == pytest.approx(fast.loglik, abs=1e-7)
    np.testing.assert_allclose(general.beta, fast.beta, atol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(general.vcov)), np.sqrt(np.diag(fast.vcov)), rtol=2e-3)
    # region_n on parts of the fitted mask (the hub's per-country counts): the parts add up to the whole
    whole = scr.region_n(fast)
    west = msk.xy[:, 0] < np.median(msk.xy[:, 0])
    parts = [scr.region_n(fast, inside=w) for w in (west, ~west)]
    for k in ("E.N", "R.N"):
        assert sum(p[k]["estimate"] for p in parts) == pytest.approx(whole[k]["estimate"], rel=1e-9)
    assert general.expected_n(west)["estimate"] == pytest.approx(parts[0]["E.N"]["estimate"], rel=1e-4)


def _simulated(seed=11):
    rng = np.random.default_rng(seed)
    g = np.arange(0, 6) * 400.0
    tx, ty = np.meshgrid(g, g)
    traps = scr.Traps([f"T{i}" for i in range(36)], np.c_[tx.ravel(), ty.ravel()], detector="proximity")
    m = scr.make_mask(traps.xy, buffer=1200, spacing=100)
    forest = (m.xy[:, 0] - m.xy[:, 0].min()) / np.ptp(m.xy[:, 0])    # a west-east forest gradient, 0..1
    mask = scr.Mask(m.xy, m.spacing, covariates={"forest": forest})
    D = np.exp(np.log(0.03) + 1.2 * forest)
    centres = sm.simulate_population(mask, D, rng)
    ch, _ = sm.simulate_captures(traps, centres, 6, 0.15, 300.0, rng, detector="proximity", recapture=0.30)
    return ch, mask


def test_simulation_recovers_density_covariate_and_learned_response():
    ch, mask = _simulated()
    f = sm.fit_model(ch, mask, "D ~ forest, g0 ~ b", "proximity", "HN")
    logit = lambda p: np.log(p / (1 - p))
    truth = {"D.(Intercept)": np.log(0.03), "D.forest": 1.2, "g0.(Intercept)": logit(0.15),
             "g0.b": logit(0.30) - logit(0.15), "sigma": np.log(300.0)}
    for c in f.coefficients():
        assert c["lcl"] < truth[c["parameter"]] < c["ucl"], c
    # the learned response raises g0 after the first detection; AIC prefers the true model to D ~ 1
    assert f.detection["g0_recapture"].estimate > f.detection["g0"].estimate
    null = sm.fit_model(ch, mask, None, "proximity", "HN")
    assert f.aic < null.aic
    # expected animals over the mask equal the sum of the fitted surface
    assert f.expected_n()["estimate"] == pytest.approx(mask.cell_area_ha * f.surfaces[0].sum())


def test_model_errors():
    ch, mask = _simulated()
    with pytest.raises(EconetError, match="not in the data"):
        sm.fit_model(ch, mask, "D ~ elevation", "proximity", "HN")
    with pytest.raises(EconetError, match="sigma covariates"):
        sm.parse_model("sigma ~ b")
    with pytest.raises(EconetError, match="unknown parameter"):
        sm.parse_model("p ~ b")
    assert sm.parse_model("D~forest; g0~b") == {"D": "~forest", "detection": "~b", "sigma": "~1"}


def test_cli_model_with_mask_covariate_column(shared, capsys, tmp_path):
    """`econet scr fit --model 'D ~ x'`: the automatic x term from the CLI matches secr as above; a mask CSV
    covariate column holding the same standardised x gives the same slope."""
    import json

    from econet.cli.main import main
    d = shared / "reference" / "secr_secrdemo"
    chs = sf.read_capthist(d / "captdata_captures.csv", d / "captdata_traps.csv", "multi")
    msk = scr.make_mask(chs[0].traps.xy, buffer=100, nx=32)
    xs = (msk.xy[:, 0] - msk.xy[:, 0].mean()) / msk.xy[:, 0].std(ddof=1)
    path = tmp_path / "mask.csv"
    path.write_text("x,y,cov_east\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(msk.xy, xs)))
    for model in ("D ~ x", "D ~ east"):
        with pytest.raises(SystemExit) as exc:
            main(["scr", "fit", "--captures", str(d / "captdata_captures.csv"), "--traps",
                  str(d / "captdata_traps.csv"), "--mask", str(path), "--model", model, "--format", "json", "--quiet"])
        assert exc.value.code in (0, None)
        out = json.loads(capsys.readouterr().out)
        slope = out["coefficients"][1]
        assert slope["beta"] == pytest.approx(0.01261994, rel=1e-4)   # secr test-relativeD.R
        assert out["N_mask"]["estimate"] == pytest.approx(116.314763, rel=1e-4)


def test_simulation_recovers_a_detector_covariate():
    """lambda0 ~ habitat (log link, hazard half-normal): the simulated hazard ratio between habitats is recovered."""
    rng = np.random.default_rng(3)
    g = np.arange(0, 6) * 400.0
    tx, ty = np.meshgrid(g, g)
    habitat = (np.arange(36) % 2).astype(float)              # alternate detectors in good habitat
    traps = scr.Traps([f"T{i}" for i in range(36)], np.c_[tx.ravel(), ty.ravel()], detector="proximity",
                      covariates={"habitat": habitat})
    mask = scr.make_mask(traps.xy, buffer=1200, spacing=120)
    centres = sm.simulate_population(mask, 0.05, rng)
    ch, _ = sm.simulate_captures(traps, centres, 5, 0.12, 300.0, rng, detector="proximity", detectfn="HHN",
                                 trap_effect=np.exp(1.0 * habitat))
    f = sm.fit_model(ch, mask, "lambda0 ~ habitat", "proximity", "HHN")
    c = {r["parameter"]: r for r in f.coefficients()}
    assert c["lambda0.habitat"]["lcl"] < 1.0 < c["lambda0.habitat"]["ucl"]
    assert c["lambda0.(Intercept)"]["lcl"] < np.log(0.12) < c["lambda0.(Intercept)"]["ucl"]
    assert c["D.(Intercept)"]["lcl"] < np.log(0.05) < c["D.(Intercept)"]["ucl"]
