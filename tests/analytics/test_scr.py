"""SECR fits against the figures R's secr prints for its own example data (../shared/reference).

Tolerances: secr prints 7-8 significant digits, but its optimiser (nlm, Newton-Raphson) stops a few
1e-6 (relative) short of the optimum and its Hessian comes from nlm's finite differences. Where we
match secr's printed estimates to 2e-5 relative and its printed SEs to 1e-3 relative, the
remaining difference is secr's numerical error, not a difference in the model: our log-likelihood
at our optimum equals or exceeds secr's printed maximum.
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest

from econet.analytics import scr
from econet.analytics import secr_formats as sf

REL_EST = 2e-5   # estimates (secr's nlm stops within ~5e-6 of the optimum)
REL_SE = 1e-3    # SEs (secr's nlm Hessian by finite differences)


def ref(shared, *parts):
    return shared.joinpath("reference", *parts)


@pytest.fixture(scope="module")
def captdata(shared):
    d = ref(shared, "secr_secrdemo")
    chs = sf.read_capthist(d / "captdata_captures.csv", d / "captdata_traps.csv", "multi")
    return chs, sf.read_mask(d / "secrdemo.0_mask.csv")


@pytest.fixture(scope="module")
def secrdemo0(captdata):
    return scr.fit(*captdata, detector="multi", detectfn="HN")


@pytest.fixture(scope="module")
def secrdemoCL(captdata):
    return scr.fit(*captdata, detector="multi", detectfn="HN", likelihood="conditional")


@pytest.fixture(scope="module")
def stoat(shared):
    d = ref(shared, "secr_stoatDNA")
    chs = sf.read_capthist(d / "stoatCH_captures.csv", d / "stoatCH_traps.csv", "multi")
    return chs, sf.read_mask(d / "stoat.model.HN_mask.csv")


@pytest.fixture(scope="module")
def stoat_hn(stoat):
    return scr.fit(*stoat, detector="multi", detectfn="HN")


def loop_module(repo):
    spec = importlib.util.spec_from_file_location("bench_scr", repo / "benchmarks" / "scr.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------------------
# secrdemo (captdata, DENSITY demo data): multi-catch, half-normal
# ------------------------------------------------------------------------------------------

def test_secrdemo0_full_likelihood_matches_secr(secrdemo0):
    # secr 5.x tests/testthat/test-start.R: makeStart(start = secrdemo.0) returns the fitted
    # betas of secrdemo.0 <- secr.fit(captdata): c(1.7010692, -0.9784937, 3.3798317)
    # (log D, logit g0, log sigma), i.e. D 5.4799/ha, g0 0.27319, sigma 29.366 m.
    np.testing.assert_allclose(secrdemo0.beta, [1.7010692, -0.9784937, 3.3798317], atol=1e-5)
    assert secrdemo0.D.estimate == pytest.approx(math.exp(1.7010692), rel=REL_EST)
    assert secrdemo0.n_animals == 76 and secrdemo0.n_detections == 235


def test_secrdemoCL_derived_density_matches_secr(secrdemoCL):
    # secr tests/testthat/test-derived.R: derived(secrdemo.CL)['D',] ==
    #   c(5.4798074, 0.64455399, 4.3549958, 6.8951362, CVn 0.11470787, CVa 0.026026665, CVD 0.11762348)
    # and test-start.R: makeStart(start = secrdemo.CL) == c(-0.9784944, 3.3798320).
    D = secrdemoCL.D
    assert D.estimate == pytest.approx(5.4798074, rel=REL_EST)
    assert D.se == pytest.approx(0.64455399, rel=REL_SE)
    assert D.lcl == pytest.approx(4.3549958, rel=REL_SE)
    assert D.ucl == pytest.approx(6.8951362, rel=REL_SE)
    np.testing.assert_allclose(secrdemoCL.beta, [-0.9784944, 3.3798320], atol=1e-5)
    assert secrdemoCL.n_parameters == 2


@pytest.mark.parametrize("which", ["full", "CL"])
def test_secrdemo_real_parameters_match_secr_book_chapter13(secrdemo0, secrdemoCL, which):
    # SECR book ch. 13.4: collate(secrdemo.0, secrdemo.CL, realnames = c('g0','sigma')) prints
    #   g0    secrdemo.0 / secrdemo.CL: 0.27319  SE 0.027051  0.22348  0.32927
    #   sigma secrdemo.0: 29.366 SE 1.3049  26.918 32.037;  secrdemo.CL: SE 1.3050
    f = secrdemo0 if which == "full" else secrdemoCL
    g, s = f.detection, f.sigma
    assert (round(g.estimate, 5), round(g.lcl, 5), round(g.ucl, 5)) == (0.27319, 0.22348, 0.32927)
    assert g.se == pytest.approx(0.027051, rel=REL_SE)
    assert round(s.estimate, 3) == 29.366
    # the limits inherit secr's slightly larger SE (its nlm Hessian): compare to 1e-3
    assert s.lcl == pytest.approx(26.918, rel=REL_SE) and s.ucl == pytest.approx(32.037, rel=REL_SE)
    assert s.se == pytest.approx(1.3049 if which == "full" else 1.3050, rel=REL_SE)


def test_buffer_mask_reproduces_secr_default_mask(captdata, stoat):
    # secr.fit(captdata) builds make.mask(traps, buffer = 100, nx = 64, type = "trapbuffer");
    # the shipped mask of secrdemo.0 is that mask. Likewise stoat.model.HN (buffer = 1000).
    for (chs, shipped), buffer in ((captdata, 100), (stoat, 1000)):
        m = scr.make_mask(chs[0].traps.xy, buffer=buffer)
        assert m.spacing == pytest.approx(shipped.spacing)
        a = np.array(sorted(map(tuple, np.round(m.xy, 6))))
        b = np.array(sorted(map(tuple, np.round(shipped.xy, 6))))
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-6)


# ------------------------------------------------------------------------------------------
# Snowshoe hare (SECR book, ch. 2 "Simple example")
# ------------------------------------------------------------------------------------------

def test_snowshoe_hare_matches_secr_book_chapter2(shared):
    # Efford, "SECR in R" (murrayefford.github.io/SECRbook, 02-example), printed by secr 5.2.1:
    #   fit <- secr.fit(hareCH6, buffer = 250)   # single-catch -> multi-catch likelihood
    #   Mask area 104.595 ha; Log likelihood -607.988; AIC 1221.98; AICc 1222.35
    #   beta: D 0.382529 (SE 0.1299502), g0 -2.723792 (0.1609315), sigma 4.224580 (0.0653229)
    #   real: D 1.4659871 SE 0.19131247 (1.1363609, 1.8912284)
    #         g0 0.0615839 SE 0.00930045 (0.0456855, 0.0825365)
    #         sigma 68.3457775 SE 4.46931251 (60.1324252, 77.6809731)
    d = ref(shared, "secrbook_snowshoe_hare")
    chs = sf.read_capthist(d / "hareCH6capt.txt", d / "hareCH6trap.txt", "multi")
    mask = scr.make_mask(chs[0].traps.xy, buffer=250)
    assert round(mask.area_ha, 3) == 104.595
    f = scr.fit(chs, mask, "multi", "HN")
    assert f.n_animals == 68 and f.n_detections == 145
    assert round(f.loglik, 3) == -607.988
    assert round(f.aic, 2) == 1221.98 and round(f.aicc, 2) == 1222.35
    np.testing.assert_allclose(f.beta, [0.382529, -2.723792, 4.224580], atol=2e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(f.vcov)), [0.1299502, 0.1609315, 0.0653229],
                               rtol=REL_SE)
    for est, (e, se, lcl, ucl) in ((f.D, (1.4659871, 0.19131247, 1.1363609, 1.8912284)),
                                   (f.detection, (0.0615839, 0.00930045, 0.0456855, 0.0825365)),
                                   (f.sigma, (68.3457775, 4.46931251, 60.1324252, 77.6809731))):
        assert est.estimate == pytest.approx(e, rel=REL_EST)
        assert est.se == pytest.approx(se, rel=REL_SE)
        assert est.lcl == pytest.approx(lcl, rel=REL_SE)
        assert est.ucl == pytest.approx(ucl, rel=REL_SE)


@pytest.mark.parametrize("detectfn,loglik,esa", [("HHN", -608.07, 46.4), ("HEX", -601.73, 45.9)])
def test_snowshoe_hare_hazard_detection_functions_match_secr_book_chapter10(shared, detectfn,
                                                                            loglik, esa):
    # SECR book ch. 10 "Detection model", 10.1.1: list.secr.fit(detectfn = c('HHN','HHR','HEX',
    # 'HVP'), capthist = hareCH6, buffer = 250); AIC(fits) prints logLik HEX -601.73,
    # HHN -608.07 (npar 3), and the text gives a(theta) 46.4 ha (HHN) and 45.9 ha (HEX).
    d = ref(shared, "secrbook_snowshoe_hare")
    chs = sf.read_capthist(d / "hareCH6capt.txt", d / "hareCH6trap.txt", "multi")
    f = scr.fit(chs, scr.make_mask(chs[0].traps.xy, buffer=250), "multi", detectfn)
    assert round(f.loglik, 2) == loglik
    assert round(f.esa_ha[0], 1) == esa
    assert f.n_parameters == 3 and f.detection_name == "lambda0"


# ------------------------------------------------------------------------------------------
# Stoat DNA (hair tubes; secr's stored fits use the multi-catch likelihood)
# ------------------------------------------------------------------------------------------

def test_stoat_HN_loglik_matches_secr_mask_check(stoat_hn):
    # (secr's Wald interval for D from predict() is not printed for this model.)
    # secr man/mask.check.Rd example: mask.check(stoat.model.HN) prints the log-likelihood
    # -144.0015 for buffer 1000 and spacing 78.125 (the stored mask of stoat.model.HN, fitted by
    # secr.fit(stoatCH, buffer = 1000, detectfn = 0), detector 'multi' as shipped).
    f = stoat_hn
    assert round(f.loglik, 4) == -144.0015
    assert f.n_animals == 20


def test_stoat_HN_profile_interval_matches_secr_confint(stoat_hn):
    # secr man/stoatDNA.Rd example: confint(stoat.model.HN, "D") prints the profile-likelihood
    # interval  lcl 0.01275125  ucl 0.04055662  (secr's own root-finding tolerance ~1e-5 relative)
    lcl, ucl = scr.profile_ci_D(stoat_hn)
    assert lcl == pytest.approx(0.01275125, rel=5e-5)
    assert ucl == pytest.approx(0.04055662, rel=5e-5)


def test_hornedlizard_polygonX_matches_secr_book_appendix_D(shared):
    # SECR book, Appendix D "Polygon and transect detectors" (A04-polygondetectors), printed:
    #   FTHL.fit <- secr.fit(hornedlizardCH, buffer = 80); predict(FTHL.fit)
    #   D       log  8.01307  SE 1.061701  6.18740 10.37742
    #   lambda0 log  0.13171  SE 0.015128  0.10524  0.16485
    #   sigma   log 18.50490  SE 1.199388 16.29950 21.00871
    # Detector 'polygonX' (one 9-ha square searched 14 times), hazard half-normal, the shipped
    # mask of that fit (FTHL.0_mask.csv).
    d = ref(shared, "secr_hornedlizard")
    ch = sf.read_capthist(d / "hornedlizardCH_captures.csv", d / "hornedlizardCH_traps.csv",
                          "polygonX")[0]
    # The shared CSV lists the x-y of the detections in secr's internal order (occasion by
    # occasion, animals within occasion) beside rows sorted by animal: re-pair them. Without
    # this, animal 48's six detections would span 240 m with sigma ~ 18 m.
    order = np.lexsort((ch.ind, ch.occ))
    xy = np.empty_like(ch.xy)
    xy[order] = ch.xy
    ch = scr.CaptureHistory(ch.traps, ch.n_occasions, ch.animal_ids, ch.ind, ch.occ, ch.trap,
                            ch.count, ch.dead, ch.session, xy)
    assert ch.n == 68 and ch.n_detections == 134 and ch.n_occasions == 14
    f = scr.fit(ch, sf.read_mask(d / "FTHL.0_mask.csv"), "polygonX", "HHN")
    for est, (e, se, lcl, ucl) in ((f.D, (8.01307, 1.061701, 6.18740, 10.37742)),
                                   (f.detection, (0.13171, 0.015128, 0.10524, 0.16485)),
                                   (f.sigma, (18.50490, 1.199388, 16.29950, 21.00871))):
        assert est.estimate == pytest.approx(e, rel=5e-5)   # secr printed 6 digits
        assert est.se == pytest.approx(se, rel=REL_SE)
        assert est.lcl == pytest.approx(lcl, rel=REL_SE)
        assert est.ucl == pytest.approx(ucl, rel=REL_SE)
    assert f.detection_name == "lambda0"


def test_snowshoe_hare_conditional_likelihood_matches_secr_book_appendixB(shared):
    # SECR book Appendix B "Speed" (A02-speed), B.2: fitCL <- secr.fit(hareCH6, buffer = 250,
    # CL = TRUE); derived(fitCL) prints esa 46.385; D 1.466 SE 0.19051 (1.1376, 1.8892),
    # CVn 0.12127, CVa 0.046715, CVD 0.12995.
    d = ref(shared, "secrbook_snowshoe_hare")
    chs = sf.read_capthist(d / "hareCH6capt.txt", d / "hareCH6trap.txt", "multi")
    f = scr.fit(chs, scr.make_mask(chs[0].traps.xy, buffer=250), "multi", "HN",
                likelihood="conditional")
    assert round(f.esa_ha[0], 3) == 46.385
    assert round(f.D.estimate, 3) == 1.466
    assert f.D.se == pytest.approx(0.19051, rel=REL_SE)
    assert round(f.D.lcl, 4) == 1.1376 and round(f.D.ucl, 4) == 1.8892
    assert f.D.se / f.D.estimate == pytest.approx(0.12995, rel=REL_SE)


@pytest.mark.xfail(reason="SECR book Appendix B.7 prints the null proximity fit to blackbearCH "
                          "(D 0.0084355, SE 0.00081891, 0.006977-0.010199) on a mask made with "
                          "make.mask(traps, buffer = 6000, type = 'trapbuffer', poly = GSM): "
                          "default nx = 64, i.e. 536-m cells, clipped to the park boundary "
                          "GSMboundary.shp, which is not in ../shared. The shared blackbear.0 mask "
                          "has 500-m cells; on it econet gets D 0.0084369 (1.7e-4 relative from "
                          "the book), so the book's figures cannot be matched to their digits",
                   strict=True)
def test_blackbear_proximity_matches_secr_book_appendixB(shared):
    d = ref(shared, "secr_blackbear")
    chs = sf.read_capthist(d / "blackbearCH_captures.csv", d / "blackbearCH_traps.csv",
                           "proximity")
    f = scr.fit(chs, sf.read_mask(d / "blackbear.0_mask.csv"), "proximity", "HN")
    assert f.D.estimate == pytest.approx(0.0084355, rel=REL_EST)
    assert f.D.se == pytest.approx(0.00081891, rel=REL_SE)


@pytest.mark.xfail(reason="ovensong (secr signalCH, ovensong.model.1) is a 'signal' strength "
                          "detector model (detectfn 10/11 with signal threshold and noise); econet "
                          "does not model signal strength, and signalCH_captures.csv carries no "
                          "signal values (only session, ID, occasion, detector, count)",
                   strict=True)
def test_ovensong_signal_strength(shared):
    d = ref(shared, "secr_ovensong")
    chs = sf.read_capthist(d / "signalCH_captures.csv", d / "signalCH_traps.csv", "signal")
    scr.fit(chs, sf.read_mask(d / "ovensong.model.1_mask.csv"), "signal", "SS")


# ------------------------------------------------------------------------------------------
# Independent checks of the vectorised likelihood
# ------------------------------------------------------------------------------------------

def _subset(ch, animals):
    keep = np.isin(ch.ind, animals)
    remap = {a: i for i, a in enumerate(animals)}
    return scr.CaptureHistory(ch.traps, ch.n_occasions, ch.animal_ids[animals],
                              np.array([remap[i] for i in ch.ind[keep]]), ch.occ[keep],
                              ch.trap[keep], ch.count[keep], ch.dead[animals], ch.session)


@pytest.mark.parametrize("dataset,detector,detectfn", [
    ("OVpossum", "multi", "HN"),        # with removals (deaths)
    ("blackbear", "proximity", "EX"),
    ("blackbear", "count", "HHN"),
    ("stoat_usage", "proximity", "HN"),
])
def test_vectorised_likelihood_equals_plain_loops(shared, repo, dataset, detector, detectfn):
    loop = loop_module(repo)
    if dataset == "OVpossum":
        d = ref(shared, "secr_OVpossum")
        ch = sf.read_capthist(d / "OVpossumCH_captures.csv", d / "OVpossumCH_traps.csv", detector)[0]
        dead = np.flatnonzero(ch.dead < ch.n_occasions)
        animals = np.unique(np.r_[dead[:4], np.arange(6)])
        mask = scr.make_mask(ch.traps.xy, buffer=100, spacing=50)
        pars = (1.7, 0.19, 51.0)
    elif dataset == "blackbear":
        d = ref(shared, "secr_blackbear")
        ch = sf.read_capthist(d / "blackbearCH_captures.csv", d / "blackbearCH_traps.csv", detector)[0]
        animals = np.arange(8)
        mask = scr.make_mask(ch.traps.xy, buffer=3000, spacing=1500)
        pars = (0.009, 0.15 if detectfn == "EX" else 0.04, 700.0)
    else:
        d = ref(shared, "secr_stoatDNA")
        ch = sf.read_capthist(d / "stoatCH_captures.csv", d / "stoatCH_traps.csv", detector)[0]
        rng = np.random.default_rng(3)
        usage = rng.integers(1, 3, size=(len(ch.traps.ids), ch.n_occasions)).astype(float)
        ch.traps = scr.Traps(ch.traps.ids, ch.traps.xy, usage, detector)
        animals = np.arange(10)
        mask = scr.make_mask(ch.traps.xy, buffer=800, spacing=400)
        pars = (0.02, 0.05, 250.0)
    if dataset == "OVpossum":
        assert (ch.dead[animals] < ch.n_occasions).sum() >= 3
    sub = _subset(ch, animals)
    D, a0, sigma = pars
    sess = scr._prepare(sub, mask, detector, detectfn)
    sumlog, psum = scr._detection_ll([sess], detectfn, a0, sigma)
    lam = D * psum[0] * mask.cell_area_ha
    n = sub.n
    vec = sumlog - n * math.log(psum[0]) + n * math.log(lam) - lam - math.lgamma(n + 1)
    ref_ll = loop.loglik_loop([sub], [mask], detector, detectfn, D, a0, sigma)
    assert vec == pytest.approx(ref_ll, rel=1e-10, abs=1e-9)


def test_multisession_shares_parameters(captdata, secrdemo0):
    # two identical sessions: same estimates, log-likelihood doubled
    chs, mask = captdata
    two = [chs[0], scr.CaptureHistory(chs[0].traps, chs[0].n_occasions, chs[0].animal_ids,
                                      chs[0].ind, chs[0].occ, chs[0].trap, chs[0].count,
                                      chs[0].dead, "2")]
    f = scr.fit(two, [mask, mask], "multi", "HN")
    assert f.D.estimate == pytest.approx(secrdemo0.D.estimate, rel=1e-6)
    assert f.sigma.estimate == pytest.approx(secrdemo0.sigma.estimate, rel=1e-6)
    assert f.loglik == pytest.approx(2 * secrdemo0.loglik, rel=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(f.vcov)),
                               np.sqrt(np.diag(secrdemo0.vcov)) / math.sqrt(2), rtol=1e-4)


def test_region_n(secrdemo0):
    import shapely
    D = secrdemo0.D.estimate
    mask = secrdemo0.sessions[0].mask
    whole = scr.region_n(secrdemo0)
    assert whole["E.N"]["estimate"] == pytest.approx(D * mask.area_ha)
    assert whole["detected_in_region"] == pytest.approx(76)
    # two halves of a 10 x 10 km box around the grid (regions may extend beyond the mask,
    # secr region.N semantics): areas 50 ha each on a 10 m grid
    west, east = shapely.box(0, 0, 500, 1000), shapely.box(500, 0, 1000, 1000)
    rw = scr.region_n(secrdemo0, west, spacing=10)
    re_ = scr.region_n(secrdemo0, east, spacing=10)
    assert rw["region_area_ha"] == pytest.approx(50) and re_["region_area_ha"] == pytest.approx(50)
    assert rw["E.N"]["estimate"] == pytest.approx(D * 50)
    assert rw["detected_in_region"] + re_["detected_in_region"] == pytest.approx(76)
    assert 0 < rw["detected_in_region"] < 76
    # secr tests/testthat/test-regionN.R: region.N is independent of the region's mask spacing
    box = shapely.box(200, 200, 800, 800)
    n5 = scr.region_n(secrdemo0, box, spacing=5)["R.N"]["estimate"]
    n10 = scr.region_n(secrdemo0, box, spacing=10)["R.N"]["estimate"]
    assert n5 == pytest.approx(n10, rel=1e-3)
    assert n5 > 76


def test_bad_inputs_are_econet_errors(captdata, shared):
    from econet.errors import EconetError
    chs, mask = captdata
    with pytest.raises(EconetError):
        scr.fit(chs, mask, "bogus", "HN")
    d = ref(shared, "secr_blackbear")
    bear = sf.read_capthist(d / "blackbearCH_captures.csv", d / "blackbearCH_traps.csv", "multi")
    with pytest.raises(EconetError, match="multi-catch"):
        scr.fit(bear, sf.read_mask(d / "blackbear.0_mask.csv"), "multi", "HN")
    # three animals each caught once: no spatial recaptures, no proper maximum
    t = scr.Traps([f"T{i}" for i in range(9)],
                  np.array([(x, y) for x in range(0, 90, 30) for y in range(0, 90, 30)], float))
    ch = scr.CaptureHistory(t, 3, np.array(["a", "b", "c"]), np.array([0, 1, 2]),
                            np.array([0, 1, 2]), np.array([0, 4, 8]), np.ones(3, int))
    with pytest.raises(EconetError, match="no proper maximum"):
        scr.fit(ch, scr.make_mask(t.xy, buffer=100), "multi", "HN")


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------

def test_cli_json(shared, capsys, tmp_path):
    from econet.cli.main import main
    d = ref(shared, "secr_secrdemo")
    region = tmp_path / "west.txt"
    region.write_text("x y\n300 300\n500 300\n500 700\n300 700\n")
    with pytest.raises(SystemExit) as exc:
        main(["scr", "fit", "--captures", str(d / "captdata_captures.csv"), "--traps",
              str(d / "captdata_traps.csv"), "--mask", str(d / "secrdemo.0_mask.csv"),
              "--detector", "multi", "--detectfn", "HN", "--format", "json", "--quiet",
              "--region", str(region), "--plot", str(tmp_path / "map.png")])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    for key in ("D", "g0", "sigma"):
        assert set(out[key]) >= {"estimate", "se", "lcl", "ucl"}
    assert out["D"]["estimate"] == pytest.approx(math.exp(1.7010692), rel=REL_EST)
    assert out["n_animals"] == 76 and "loglik" in out and "aic" in out
    en = out["region"]["E.N"]
    assert en["estimate"] == pytest.approx(out["D"]["estimate"] * out["region"]["region_area_ha"])
    assert 0 < out["region"]["detected_in_region"] < 76
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_file_exits_2(shared, capsys, tmp_path):
    from econet.cli.main import main
    d = ref(shared, "secr_secrdemo")
    bad = tmp_path / "capt.csv"
    bad.write_text("session,ID,occasion,detector\n1,1,1,no-such-trap\n")
    with pytest.raises(SystemExit) as exc:
        main(["scr", "fit", "--captures", str(bad), "--traps", str(d / "captdata_traps.csv"),
              "--buffer", "100", "--format", "json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-trap" in err and "Traceback" not in err


def test_cli_camtrap_package(tmp_path, capsys):
    """A simulated Camtrap DP package of identified tigers (proximity, HHN) fits from the CLI."""
    import pandas as pd
    from pyproj import Transformer
    from econet.cli.main import main
    rng = np.random.default_rng(7)
    tf = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    gx, gy = np.meshgrid(np.arange(5) * 2000.0 + 500000, np.arange(5) * 2000.0 + 4770000)
    cams = np.column_stack([gx.ravel(), gy.ravel()])
    lon, lat = tf.transform(cams[:, 0], cams[:, 1])
    days = 40
    deps = pd.DataFrame({"deploymentID": [f"D{k}" for k in range(25)],
                         "locationID": [f"C{k}" for k in range(25)], "latitude": lat,
                         "longitude": lon, "deploymentStart": "2024-03-01T00:00:00Z",
                         "deploymentEnd": f"2024-04-{days - 31 + 1:02d}T00:00:00Z"})
    rows = []
    centres = rng.uniform([492000, 4762000], [516000, 4786000], size=(40, 2))
    for a, c in enumerate(centres):
        lam = 0.1 * np.exp(-((cams - c) ** 2).sum(1) / (2 * 2000.0 ** 2))
        for day in range(days):
            for k in np.flatnonzero(rng.random(25) < 1 - np.exp(-lam)):
                rows.append({"deploymentID": f"D{k}", "individualID": f"T{a}",
                             "eventStart": (pd.Timestamp("2024-03-01T12:00:00Z")
                                            + pd.Timedelta(days=day)).isoformat(),
                             "scientificName": "Panthera tigris"})
    pd.DataFrame(rows).to_csv(tmp_path / "observations.csv", index=False)
    deps.to_csv(tmp_path / "deployments.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["scr", "fit", "--camtrap", str(tmp_path), "--species", "Panthera tigris",
              "--buffer", "8000", "--spacing", "1000", "--detector", "proximity",
              "--detectfn", "HHN", "--format", "json", "--quiet"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["n_occasions"] == days and "lambda0" in out
    # truth: 40 centres in 24 x 24 km = 0.000694/ha; lambda0 0.1/day; sigma 2000 m
    assert out["lambda0"]["lcl"] < 0.1 < out["lambda0"]["ucl"]
    assert out["sigma"]["lcl"] < 2000 < out["sigma"]["ucl"]
    truth = 40 / (24000 ** 2 / 1e4)
    assert out["D"]["lcl"] < truth < out["D"]["ucl"]
