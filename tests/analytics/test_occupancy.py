"""Single-season occupancy against unmarked's own printed fits of the vignette's frog data.

Source of the expected figures: unmarked 1.4.x vignette "Overview of unmarked" (vignettes/unmarked.Rmd,
rendered as inst/doc/unmarked.html in the CRAN package), sections 3.1-3.4, fitting
frog2001pcru.csv (Pseudacris crucifer, 130 sites, up to 3 visits):

    fm1 <- occu(~1 ~1, pcru)
    fm2 <- occu(~ scale(MinAfterSunset) + scale(Temperature) ~ 1, pcru)
    fm2    -> Occupancy: 1.54 (SE 0.292); Detection: (Intercept) 0.2098 (0.206),
              scale(MinAfterSunset) -0.0855 (0.160), scale(Temperature) -1.8936 (0.291); AIC: 356.7591
    predict(fm2, 'state')[1,] -> 0.8230724  SE 0.04254069  lower 0.7240711  upper 0.8918579
    confint(fm2, type='det') -> p(Int) -0.1946872 0.6142292; MinAfterSunset -0.3985642 0.2274722;
                                Temperature -2.4638797 -1.3233511
    modSel(fms) -> psi(.)p(.) AIC 461.00
and the older vignette text (same data, obsCovs(pcru) <- scale(obsCovs(pcru))) printing for fm1:
    Occupancy 2.95 (SE 1.44), Detection -0.249 (SE 0.17), AIC: 461.0042,
    backTransform(fm1,'state') 0.95 SE 0.0678; backTransform(fm1,'det') 0.438 SE 0.0417,
and the vignette sentence "the expected probability of detection was 0.552".

Tolerances are the printed digits. Where unmarked prints 7 significant digits the last one or two
reflect where R's optim (BFGS, reltol 1e-8) stopped; econet converges further, so those comparisons
use 1e-5 (stated per assertion).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from econet.analytics.occupancy import (OccupancyData, detection_history, fit_occupancy, history_to_wide,
                                        occupancy_from_long, parse_formula, read_occupancy_csv)
from econet.errors import EconetError


@pytest.fixture(scope="module")
def pcru(shared):
    return read_occupancy_csv(shared / "reference/unmarked_occu/frog2001pcru.csv")


def test_long_form_reads_as_csvToUMF(pcru):
    # unmarked's summary(pcru): 130 sites, max 3 observations, mean 2.59, 96 sites with a detection
    s = pcru.summary()
    assert s["sites"] == 130 and s["max_occasions"] == 3
    assert round(s["mean_occasions"], 2) == 2.59
    assert s["sites_with_detection"] == 96


def test_null_model_matches_unmarked(pcru):
    fit = fit_occupancy(pcru, "~1", "~1")
    # psi's logit is weakly identified here (SE 1.44: the likelihood is flat); R's optim stopped at a
    # printed 2.95, econet at 2.957 with a log-likelihood higher by 3e-5. Hence 0.01 on this estimate
    # and on its SE, 0.0005 on the back-transformed SE that depends on them; the rest at the printed digits.
    assert fit.coef[0] == pytest.approx(2.95, abs=0.01)
    assert fit.se[0] == pytest.approx(1.44, abs=0.01)
    assert fit.coef[1] == pytest.approx(-0.249, abs=0.0005)
    assert fit.se[1] == pytest.approx(0.17, abs=0.005)
    assert fit.aic == pytest.approx(461.0042, abs=1e-4)  # R's optimum is ~1e-5 less converged
    assert fit.psi.estimate == pytest.approx(0.95, abs=0.005)
    assert fit.psi.se == pytest.approx(0.0678, abs=0.0005)
    assert fit.p.estimate == pytest.approx(0.438, abs=0.0005)
    assert fit.p.se == pytest.approx(0.0417, abs=0.0002)  # also depends on the flat psi optimum


@pytest.mark.parametrize("kwargs", [
    {"p": "~MinAfterSunset+Temperature", "scale_covariates": True},
    {"p": "~ scale(MinAfterSunset) + scale(Temperature)"},
], ids=["--scale-covariates", "scale() in formula"])
def test_covariate_model_matches_unmarked(pcru, kwargs):
    fit = fit_occupancy(pcru, "~1", **kwargs)
    est = dict(zip(["psi", "p0", "p1", "p2"], fit.coef))
    se = dict(zip(["psi", "p0", "p1", "p2"], fit.se))
    assert est["psi"] == pytest.approx(1.54, abs=0.005) and se["psi"] == pytest.approx(0.292, abs=0.0005)
    assert est["p0"] == pytest.approx(0.2098, abs=1e-4) and se["p0"] == pytest.approx(0.206, abs=0.0005)
    assert est["p1"] == pytest.approx(-0.0855, abs=1e-4) and se["p1"] == pytest.approx(0.160, abs=0.0005)
    assert est["p2"] == pytest.approx(-1.8936, abs=1e-4) and se["p2"] == pytest.approx(0.291, abs=0.0005)
    assert fit.aic == pytest.approx(356.7591, abs=0.00005)
    assert fit.n_sites == 130
    # 4-decimal coefficients at 1e-4 and the 7-digit predict() figures at 1e-5: R's optim stops ~5e-5 short
    # predict(fm2, 'state')[1,]: 0.8230724 0.04254069 0.7240711 0.8918579
    assert fit.psi.estimate == pytest.approx(0.8230724, abs=1e-5)
    assert fit.psi.se == pytest.approx(0.04254069, abs=1e-5)
    assert fit.psi.lcl == pytest.approx(0.7240711, abs=1e-5)
    assert fit.psi.ucl == pytest.approx(0.8918579, abs=1e-5)
    # "the expected probability of detection was 0.552 when time of day and temperature are fixed at their mean"
    assert fit.p.estimate == pytest.approx(0.552, abs=0.0005)
    # confint(fm2, type='det') (Wald): bounds of the logit-scale coefficients
    lo = fit.coef[1:] - 1.959963984540054 * fit.se[1:]
    hi = fit.coef[1:] + 1.959963984540054 * fit.se[1:]
    np.testing.assert_allclose(lo, [-0.1946872, -0.3985642, -2.4638797], atol=2e-4)
    np.testing.assert_allclose(hi, [0.6142292, 0.2274722, -1.3233511], atol=2e-4)


def test_wide_form_reads_na_and_covariates(shared):
    wt = read_occupancy_csv(shared / "reference/unmarked_occu/widewt.csv")
    # the vignette's summary(wt): 237 sites, mean 2.81 observations, 79 sites with a detection
    s = wt.summary()
    assert (s["sites"], round(s["mean_occasions"], 2), s["sites_with_detection"]) == (237, 2.81, 79)
    assert int(np.isnan(wt.y).sum()) == 46  # "<NA> 46"
    assert list(wt.site_covs.columns) == ["elev", "forest", "length"]
    assert sorted(wt.obs_covs) == ["date", "ivel"]
    assert int(np.isnan(wt.obs_covs["date"]).sum()) == 42  # "NA's :42"
    fit = fit_occupancy(wt, "~elev + forest", "~date + ivel")
    assert fit.converged and np.all(np.isfinite(fit.se))


def test_formula_parser():
    f = parse_formula("~ a*b - 1")
    assert not f.intercept and f.terms == [("a",), ("b",), ("a", "b")]
    assert parse_formula("~1").terms == [] and parse_formula("~1").intercept
    with pytest.raises(EconetError):
        parse_formula("a + b")


def test_factor_covariate_uses_treatment_contrasts():
    y = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]], float)
    data = OccupancyData(y, [str(i) for i in range(6)],
                         pd.DataFrame({"hab": ["forest", "steppe", "forest", "steppe", "steppe", "forest"]}))
    fit = fit_occupancy(data, "~hab", "~1")
    assert fit.psi_names == ["(Intercept)", "habsteppe"]


def test_missing_covariate_is_a_clear_error(pcru):
    with pytest.raises(EconetError, match="Foo"):
        fit_occupancy(pcru, "~1", "~Foo")


def test_long_form_orders_visits_and_pads_with_nan():
    df = pd.DataFrame({"site": ["A", "A", "B"], "date": [20, 10, 5], "y": [1, 0, 0], "wind": [1.0, 2.0, 3.0]})
    d = occupancy_from_long(df)
    np.testing.assert_array_equal(d.y[0], [0, 1])
    assert np.isnan(d.y[1, 1])
    np.testing.assert_array_equal(d.obs_covs["wind"][0], [2.0, 1.0])


def test_detection_history_from_deployments():
    deps = pd.DataFrame({"site": ["C1", "C2", "C2"],
                         "start": ["2024-01-01", "2024-01-01", "2024-01-20"],
                         "end": ["2024-01-21", "2024-01-08", "2024-01-28"]})
    dets = pd.DataFrame({"site": ["C1", "C1", "C2", "C2"],
                         "timestamp": ["2024-01-03 02:00", "2024-01-16 23:00", "2024-01-25 04:00",
                                       "2024-02-15 00:00"]})  # last one: outside any deployment
    hist, effort = detection_history(deps, dets, 7)
    assert list(hist.columns) == [1, 2, 3, 4]
    np.testing.assert_array_equal(hist.loc["C1"].to_numpy()[:3], [1, 0, 1])
    assert np.isnan(hist.loc["C1", 4])  # camera C1 ended on day 21: occasion 4 (days 22-28) not surveyed
    assert hist.loc["C2", 1] == 0 and np.isnan(hist.loc["C2", 2]) and hist.loc["C2", 4] == 1
    assert effort.loc["C2", 3] == pytest.approx(2.0)
    wide = history_to_wide(hist)
    assert list(wide.columns) == ["site", "y.1", "y.2", "y.3", "y.4"]


def test_cli_fit_json(shared, capsys):
    from econet.cli.main import main
    csv = shared / "reference/unmarked_occu/frog2001pcru.csv"
    with pytest.raises(SystemExit) as exc:
        main(["occupancy", "fit", "--detections", str(csv), "--psi", "~1",
              "--p", "~MinAfterSunset+Temperature", "--scale-covariates", "--format", "json"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["aic"] == pytest.approx(356.7591, abs=5e-5)
    assert out["psi"]["estimate"] == pytest.approx(0.8230724, abs=1e-5)
    assert [c["name"] for c in out["coefficients"]] == ["(Intercept)", "(Intercept)", "MinAfterSunset", "Temperature"]
    assert out["loglik"] == pytest.approx(-(356.7591 - 8) / 2, abs=1e-4)


def test_cli_bad_file_exits_2(tmp_path, capsys):
    from econet.cli.main import main
    bad = tmp_path / "bad.csv"
    bad.write_text("site,visit,y\nA,1,yes\n")
    with pytest.raises(SystemExit) as exc:
        main(["occupancy", "fit", "--detections", str(bad)])
    assert exc.value.code == 2
    assert "yes" in capsys.readouterr().err


def test_predict_uses_the_fit_scaling_as_unmarked(pcru):
    # vignette: nd <- data.frame(MinAfterSunset = 0, Temperature = -2:2)
    # round(predict(fm2, type = 'det', newdata = nd, appendData = TRUE), 2) prints
    #   Predicted 1.00 1.00 1.00 1.00 0.99; SE 0 (all); lower 0.99 0.99 0.98 0.98 0.97; upper 1 (all)
    # (raw covariate values far below the means used by scale(), hence p close to 1)
    fit = fit_occupancy(pcru, "~1", "~ scale(MinAfterSunset) + scale(Temperature)")
    pred = fit.predict("det", pd.DataFrame({"MinAfterSunset": 0, "Temperature": range(-2, 3)})).round(2)
    assert pred["Predicted"].tolist() == [1.00, 1.00, 1.00, 1.00, 0.99]
    assert pred["SE"].tolist() == [0.0] * 5
    assert pred["lower"].tolist() == [0.99, 0.99, 0.98, 0.98, 0.97]
    assert pred["upper"].tolist() == [1.0] * 5
    # predict(fm2, 'state')[1,]
    psi = fit.predict("state", pd.DataFrame(index=[0])).iloc[0]
    assert psi["Predicted"] == pytest.approx(0.8230724, abs=1e-5)
    assert psi["lower"] == pytest.approx(0.7240711, abs=1e-5)


def test_cli_history_then_fit_with_plot(tmp_path, capsys):
    from econet.cli.main import main
    rng = np.random.default_rng(7)
    deps, dets = [], []
    for s in range(30):
        deps.append({"site": f"cam{s}", "start": "2024-05-01", "end": "2024-06-12"})
        occupied = s % 3 != 0
        for day in range(42):
            if occupied and rng.random() < 0.08:
                dets.append({"site": f"cam{s}", "timestamp": f"2024-05-{1 + day:02d}T22:00" if day < 31
                             else f"2024-06-{day - 30:02d}T22:00"})
    pd.DataFrame(deps).to_csv(tmp_path / "deps.csv", index=False)
    pd.DataFrame(dets).to_csv(tmp_path / "dets.csv", index=False)
    out_csv = tmp_path / "hist.csv"
    with pytest.raises(SystemExit) as exc:
        main(["occupancy", "history", "--deployments", str(tmp_path / "deps.csv"), "--detections",
              str(tmp_path / "dets.csv"), "--occasion-days", "7", "-o", str(out_csv), "--format", "json", "-q"])
    assert exc.value.code in (0, None)
    capsys.readouterr()
    wide = pd.read_csv(out_csv)
    assert list(wide.columns) == ["site"] + [f"y.{k}" for k in range(1, 7)]
    assert len(wide) == 30
    png = tmp_path / "fit.png"
    with pytest.raises(SystemExit) as exc:
        main(["occupancy", "fit", "--detections", str(out_csv), "--plot", str(png), "--format", "json", "-q"])
    assert exc.value.code in (0, None)
    fit = json.loads(capsys.readouterr().out)
    assert 0.4 < fit["psi"]["estimate"] < 0.95  # 20 of 30 sites occupied in the simulation
    assert png.stat().st_size > 1000
