"""SECR models with covariates, written as secr's model formulae (Efford 2004; Borchers & Efford 2008).

- Density: ``D ~ forest + scale(road_km)`` on habitat-mask covariates, and secr's automatic terms
  ``x``, ``y``, ``x2``, ``y2``, ``xy`` (mask coordinates centred on the mask mean and divided by the
  SD, as secr's D.designdata), log link: D(x) = exp(X(x) beta_D) animals per hectare.
- Detection (g0 or lambda0): ``g0 ~ b`` (learned response: a different value once an animal has
  been detected on an earlier occasion, secr's behavioural "b") and detector covariates
  (``g0 ~ habitat``, one value per detector), logit link for g0, log link for lambda0.
- sigma ~ 1.

Fitted by maximum likelihood (full likelihood, Poisson n): with the integral over activity centres a sum
over mask points, log L = sum over sessions of [-Lambda - log n! + log(n! / prod n_c!) +
sum_i log(a sum_m D(x_m) Pr(omega_i | x_m))], Lambda = a sum_m D(x_m) p.(x_m) (Borchers & Efford 2008,
eqs. 2-4). p.(x) uses the naive (b = 0) detection parameters. Pure numpy: arrays in, a ModelFit out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.special import gammaln

from econet.analytics import scr
from econet.analytics.occupancy import design_matrix, parse_formula
from econet.errors import EconetError

AUTO_D = ("x", "y", "x2", "y2", "xy")


@dataclass
class _Prep:
    """One session's arrays for the covariate likelihood."""

    base: scr._Session
    XD: np.ndarray                 # M x pD design matrix of density
    XG: np.ndarray                 # 2 x K x pG design of the detection parameter (state b = 0/1, detector)
    W: tuple                       # (n x S weights of state 0, of state 1)
    N: tuple                       # per state: n x K detection counts
    pairs: tuple                   # per state: (trap, usage, n x P incidence) for proximity
    uses_b: bool


def _auto_xy(xy: np.ndarray) -> dict[str, np.ndarray]:
    """secr's automatic density covariates: coordinates standardised by the mask mean and SD (n-1)."""
    mean, sd = xy.mean(axis=0), xy.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    x, y = (xy[:, 0] - mean[0]) / sd[0], (xy[:, 1] - mean[1]) / sd[1]
    return {"x": x, "y": y, "x2": x * x, "y2": y * y, "xy": x * y}


def parse_model(model: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """{'D': '~..', 'g0': '~..', 'sigma': '~1'} from 'D ~ forest, g0 ~ b', a list of such, or a dict."""
    out = {"D": "~1", "detection": "~1", "sigma": "~1"}
    if model is None:
        return out
    if isinstance(model, Mapping):
        items = list(model.items())
    else:
        parts = [model] if isinstance(model, str) else list(model)
        items = []
        for p in parts:
            for piece in str(p).replace(";", ",").split(","):
                if not piece.strip():
                    continue
                if "~" not in piece:
                    raise EconetError(f"model term {piece.strip()!r} is not a formula such as 'D ~ forest'",
                                      field="model")
                lhs, rhs = piece.split("~", 1)
                items.append((lhs.strip(), "~" + rhs.strip()))
    for lhs, rhs in items:
        key = {"D": "D", "g0": "detection", "lambda0": "detection", "sigma": "sigma"}.get(lhs.strip())
        if key is None:
            raise EconetError(f"unknown parameter {lhs!r} in the model (D, g0, lambda0, sigma)", field="model")
        out[key] = rhs if rhs.strip().startswith("~") else "~" + rhs
    if parse_formula(out["sigma"]).terms:
        raise EconetError("sigma covariates are not supported (sigma ~ 1)", field="model")
    return out


def _prep(ch: scr.CaptureHistory, mask: scr.Mask, detector: str, detectfn: str, fD, fG, spec: dict) -> _Prep:
    base = scr._prepare(ch, mask, detector, detectfn)
    if isinstance(base, scr._PolySession):
        raise EconetError("covariate models are implemented for point detectors", field="detector")
    n, S, K = ch.n, ch.n_occasions, len(ch.traps.ids)
    dvars = dict(_auto_xy(mask.xy))
    dvars.update({k: np.asarray(v) for k, v in (mask.covariates or {}).items()})
    XD, namesD = design_matrix(fD, dvars, len(mask.xy), what="D", spec=spec.setdefault("D", {}))
    if fD.terms and not fD.intercept:
        raise EconetError("the density formula needs an intercept", field="model")
    gvars = {k: np.asarray(v) for k, v in (ch.traps.covariates or {}).items()}
    uses_b = any("b" in [t.split("(")[-1].rstrip(")") for t in term] for term in fG.terms)
    XG = []
    for b in (0.0, 1.0):
        v = dict(gvars)
        v["b"] = np.full(K, b)
        X, namesG = design_matrix(fG, v, K, what="detection", spec=spec.setdefault("G", {}))
        XG.append(X)
    spec["names"] = (namesD, namesG)
    # merged detections (as scr._prepare) and the state of each: 1 after the animal's first occasion
    key = (ch.ind * S + ch.occ) * K + ch.trap
    ukey, inv = np.unique(key, return_inverse=True)
    cnt = np.bincount(inv, weights=ch.count)
    ind, occ, trap = ukey // (S * K), (ukey // K) % S, ukey % K
    first = np.full(n, S)
    np.minimum.at(first, ind, occ)
    state1 = (np.arange(S)[None, :] > first[:, None]).astype(float)
    dstate = (occ > first[ind]).astype(int)
    W = (1.0 - state1, state1)
    N, pairs = [], []
    for b in (0, 1):
        sel = dstate == b
        Nb = np.zeros((n, K))
        np.add.at(Nb, (ind[sel], trap[sel]), cnt[sel])
        N.append(Nb)
        du = base.usage[trap[sel], occ[sel]]
        pr, pinv = np.unique(np.column_stack([trap[sel], du]), axis=0, return_inverse=True)
        inc = np.zeros((n, len(pr)))
        np.add.at(inc, (ind[sel], np.asarray(pinv).ravel()), 1.0)
        pairs.append((pr[:, 0].astype(int), pr[:, 1], inc))
    return _Prep(base, XD, np.stack(XG), W, tuple(N), tuple(pairs), uses_b)


def _logpr(p: _Prep, detectfn: str, a0: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """log Pr(omega_i | x_m) (n x M) and p.(x_m), detection parameter a0[b, k] per state and detector."""
    s = p.base
    if detectfn in ("HN", "HHN"):
        logk = s.d2 * (-1.0 / (2.0 * sigma * sigma))
    else:
        logk = s.d * (-1.0 / sigma)
    lam = detectfn in ("HHN", "HEX")
    states = (0, 1) if p.uses_b else (0,)
    out = np.zeros((s.ch.n, len(s.mask.xy)))
    pdot = None
    for b in states:
        if lam:
            logh = logk + np.log(a0[b])[None, :]
            h = np.exp(logh)
        else:
            g = np.exp(logk) * a0[b][None, :]
            h = -np.log1p(-g)
            with np.errstate(divide="ignore"):
                logh = np.where(g >= scr._TINY_G, np.log(np.where(h > 0, h, 1.0)), logk + np.log(a0[b])[None, :])
        H = h @ s.usage                                  # M x S
        if b == 0:
            pdot = -np.expm1(-H.sum(axis=1))
        Wb = p.W[b] if p.uses_b else np.ones_like(p.W[0])
        if s.detector == "multi":
            with np.errstate(divide="ignore", invalid="ignore"):
                F = np.where(H > 0, np.log(-np.expm1(-H)) - np.log(np.where(H > 0, H, 1.0)), 0.0)
            Nb = p.N[b] if p.uses_b else p.N[0] + p.N[1]
            out += -(s.not_caught * Wb) @ H.T + (s.caught * Wb) @ F.T + Nb @ logh.T
        elif s.detector == "proximity":
            out += -(s.avail * Wb) @ H.T
            prs = [p.pairs[b]] if p.uses_b else list(p.pairs)
            for trap, u, inc in prs:
                if len(trap):
                    uh = h[:, trap] * u
                    out += inc @ (np.log(-np.expm1(-uh)) + uh).T
        else:
            Nb = p.N[b] if p.uses_b else p.N[0] + p.N[1]
            out += -(s.avail * Wb) @ H.T + Nb @ logh.T
    if s.detector in ("multi", "count"):
        out += s.const[:, None]
    return out, pdot


@dataclass
class ModelFit:
    """Result of :func:`fit_model`: coefficients on the link scale, real values, the density surface."""

    model: dict
    names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    D: scr.Estimate                     # density at the covariate means (x, y: the mask centre), per ha
    detection: dict                     # real g0/lambda0: naive, and 'recapture' under b
    sigma: scr.Estimate
    loglik: float
    aic: float
    aicc: float
    n_animals: int
    n_detections: int
    detector: str
    detectfn: str
    n_parameters: int
    surfaces: list[np.ndarray] = field(repr=False, default_factory=list)   # D(x_m) per session
    preps: list[_Prep] = field(repr=False, default_factory=list)

    @property
    def detection_name(self) -> str:
        return "lambda0" if self.detectfn in ("HHN", "HEX") else "g0"

    def coefficients(self) -> list[dict]:
        se = np.sqrt(np.clip(np.diag(self.vcov), 0, None))
        return [{"parameter": nm, "beta": float(b), "se": float(s), "lcl": float(b - scr.Z975 * s),
                 "ucl": float(b + scr.Z975 * s)} for nm, b, s in zip(self.names, self.beta, se)]

    def expected_n(self, inside: np.ndarray | None = None, session: int = 0) -> dict:
        """Expected animals over the mask points ``inside`` (boolean; all when None), with a delta-method SE."""
        p = self.preps[session]
        a = p.base.mask.cell_area_ha
        sel = np.ones(len(p.XD), bool) if inside is None else np.asarray(inside, bool)
        Dm = self.surfaces[session]
        EN = float(a * Dm[sel].sum())
        pD = p.XD.shape[1]
        grad = np.zeros(len(self.beta))
        grad[:pD] = a * (Dm[sel, None] * p.XD[sel]).sum(axis=0)
        var = float(grad @ self.vcov @ grad)
        se = math.sqrt(max(var, 0.0))
        cv2 = (se / EN) ** 2 if EN > 0 else float("nan")
        c = math.exp(scr.Z975 * math.sqrt(math.log1p(cv2))) if EN > 0 else float("nan")
        return {"estimate": EN, "se": se, "lcl": EN / c, "ucl": EN * c, "area_ha": float(a * sel.sum())}

    def as_dict(self) -> dict:
        out = {"model": self.model, "D": self.D.as_dict(), "sigma": self.sigma.as_dict(),
               "coefficients": self.coefficients(), "loglik": self.loglik, "aic": self.aic, "aicc": self.aicc,
               "n_animals": self.n_animals, "n_detections": self.n_detections,
               "n_parameters": self.n_parameters, "detector": self.detector, "detectfn": self.detectfn,
               "likelihood": "full", "D_units": "animals per hectare",
               "D_at": "covariate means (x, y: mask centre)", "N_mask": self.expected_n()}
        for k, v in self.detection.items():
            out[k] = v.as_dict()
        return out


def fit_model(captures, masks, model=None, detector: str = "multi", detectfn: str = "HN",
              progress=None) -> ModelFit:
    """Fit an SECR model with covariates by maximum likelihood (full likelihood), as secr.fit(model = ...).

    ``model``: e.g. "D ~ forest, g0 ~ b" or {"D": "~forest", "g0": "~b + habitat"}. Mask covariates come from
    ``Mask.covariates`` (one value per mask point), detector covariates from ``Traps.covariates``.
    """
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_model(captures, masks, model, detector, detectfn, progress)


def _fit_model(captures, masks, model, detector, detectfn, progress) -> ModelFit:
    spec_model = parse_model(model)
    fD, fG = parse_formula(spec_model["D"]), parse_formula(spec_model["detection"])
    chs = [captures] if isinstance(captures, scr.CaptureHistory) else list(captures)
    mks = [masks] if isinstance(masks, scr.Mask) else list(masks)
    if len(mks) == 1 and len(chs) > 1:
        mks = mks * len(chs)
    spec: dict = {}
    preps = [_prep(c, m, detector, detectfn, fD, fG, spec) for c, m in zip(chs, mks)]
    namesD, namesG = spec["names"]
    pD, pG = preps[0].XD.shape[1], preps[0].XG.shape[2]
    lam = detectfn in ("HHN", "HEX")
    inv_link = np.exp if lam else scr._expit
    null = scr.fit(chs, mks, detector, detectfn, "full")
    n_s = np.array([p.base.ch.n for p in preps], float)
    const = sum(float(-gammaln(n + 1) + p.base.log_multinom) for n, p in zip(n_s, preps))

    def negll(th):
        th = np.asarray(th, float)
        if not np.all(np.isfinite(th)) or np.abs(th).max() > 40:
            return 1e300
        bD, bG, sigma = th[:pD], th[pD:pD + pG], math.exp(th[-1])
        total = const
        for p in preps:
            a0 = inv_link(p.XG @ bG)                    # 2 x K
            if not lam and np.any(a0 >= 1.0):
                return 1e300
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lp, pdot = _logpr(p, detectfn, a0, sigma)
                logD = p.XD @ bD
                a = p.base.mask.cell_area_ha
                Lam = a * float(np.exp(logD) @ pdot)
                ll_i = scr._logsumexp_rows(lp + logD[None, :]) + math.log(a)
            total += -Lam + float(ll_i.sum())
            if not np.isfinite(total):
                return 1e300
        return -total

    # start: the null fit's betas, covariate effects at zero (D intercept adjusted for the mean of X)
    x0 = np.zeros(pD + pG + 1)
    x0[0] = null.beta[0]
    x0[pD] = null.beta[1]
    x0[-1] = null.beta[2]
    if progress:
        progress(1, 3, "maximising the likelihood")
    res = optimize.minimize(negll, x0, method="BFGS", options={"gtol": 1e-7, "maxiter": 500})
    th = res.x
    f = lambda t: np.array([negll(t)])
    H = None
    for _ in range(8):  # Newton polish on Richardson-extrapolated derivatives
        f0, G, H = scr._derivs(f, th, richardson=True)
        try:
            step = np.linalg.solve(H[0], G[0])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or negll(th - step) > f0[0] + 1e-10:
            break
        th = th - step
        if np.abs(step).max() < 1e-9:
            break
    if progress:
        progress(2, 3, "variances")
    f0, G, H = scr._derivs(f, th, richardson=True)
    Hs = (H[0] + H[0].T) / 2
    if f0[0] >= 1e299 or not np.all(np.isfinite(Hs)) or np.any(np.linalg.eigvalsh(Hs) <= 0):
        raise EconetError("the covariate model has no proper maximum for these data (too few animals or "
                          "detections for its parameters?)")
    vcov = scr._safe_inv(Hs)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    names = [f"D.{n}" for n in namesD] + [f"{'lambda0' if lam else 'g0'}.{n}" for n in namesG] + ["sigma"]
    # real values: D at covariate means (secr's automatic x, y are centred: 0); detection at b = 0 and 1
    p0 = preps[0]
    xbar = p0.XD.mean(axis=0)
    for j, nm in enumerate(namesD):
        if nm.split(":")[0] in AUTO_D:
            xbar[j] = 0.0
    D_est = _lin_real(xbar, th[:pD], vcov[:pD, :pD], "log")
    link = "log" if lam else "logit"
    det = {}
    for b, label in ((0, ""), (1, "_recapture")):
        if b == 1 and not p0.uses_b:
            continue
        xg = p0.XG[b].mean(axis=0)
        det[("lambda0" if lam else "g0") + label] = _lin_real(xg, th[pD:pD + pG], vcov[pD:pD + pG, pD:pD + pG], link)
    sig = scr._real(th[-1], se[-1], "log")
    loglik = -float(f0[0])
    k = len(th)
    n_tot = float(n_s.sum())
    aic = -2 * loglik + 2 * k
    aicc = aic + 2 * k * (k + 1) / (n_tot - k - 1) if n_tot - k - 1 > 0 else float("nan")
    surfaces = [np.exp(p.XD @ th[:pD]) for p in preps]
    if progress:
        progress(3, 3, "done")
    return ModelFit(spec_model, names, th, vcov, D_est, det, sig, loglik, aic, aicc, int(n_tot),
                    int(sum(p.base.ch.n_detections for p in preps)), detector, detectfn, k, surfaces, preps)


def _lin_real(x: np.ndarray, beta: np.ndarray, vcov: np.ndarray, link: str) -> scr.Estimate:
    eta = float(x @ beta)
    se = math.sqrt(max(float(x @ vcov @ x), 0.0))
    return scr._real(eta, se, link)


# --------------------------------------------------------------------------------------------
# Simulation (secr's sim.popn + sim.capthist), for tests, the demo and benchmarks
# --------------------------------------------------------------------------------------------

def simulate_population(mask: scr.Mask, D, rng: np.random.Generator) -> np.ndarray:
    """Activity centres (N x 2) of an inhomogeneous Poisson process: D per hectare, scalar or per mask point."""
    lam = np.broadcast_to(np.asarray(D, float), (len(mask.xy),)) * mask.cell_area_ha
    counts = rng.poisson(lam)
    idx = np.repeat(np.arange(len(mask.xy)), counts)
    jitter = rng.uniform(-0.5, 0.5, (len(idx), 2)) * mask.spacing
    return mask.xy[idx] + jitter


def simulate_captures(traps: scr.Traps, centres: np.ndarray, n_occasions: int, detection: float, sigma: float,
                      rng: np.random.Generator, *, detector: str = "proximity", detectfn: str = "HN",
                      recapture: float | None = None, trap_effect: np.ndarray | None = None,
                      ids: Sequence[str] | None = None) -> tuple[scr.CaptureHistory, np.ndarray]:
    """Detections of animals with the given activity centres (as secr's sim.capthist).

    ``detection`` is g0 (HN, EX) or lambda0 (HHN, HEX) of a naive animal; ``recapture`` the value after its
    first detection (learned response, g0 ~ b); ``trap_effect`` multiplies the per-detector hazard. Usage
    (``traps.usage``) scales the hazard per detector and occasion. Returns the capture history of the
    detected animals and, for each, the index of its centre.
    """
    K = len(traps.ids)
    usage = traps.usage if traps.usage is not None else np.ones((K, n_occasions))
    d2 = scr._dist2(centres, traps.xy)
    k = np.exp(-d2 / (2 * sigma * sigma)) if detectfn in ("HN", "HHN") else np.exp(-np.sqrt(d2) / sigma)
    eff = np.ones(K) if trap_effect is None else np.asarray(trap_effect, float)

    def hazard(a0):
        if detectfn in ("HHN", "HEX"):
            return a0 * k * eff
        return -np.log1p(-np.clip(a0 * k, 0, 1 - 1e-12)) * eff

    h0 = hazard(detection)
    h1 = hazard(recapture if recapture is not None else detection)
    caught_before = np.zeros(len(centres), bool)
    rows = []
    for s in range(n_occasions):
        h = np.where(caught_before[:, None], h1, h0) * usage[:, s][None, :]
        if detector == "proximity":
            hit = rng.random(h.shape) < -np.expm1(-h)
            ii, kk = np.nonzero(hit)
        elif detector == "count":
            c = rng.poisson(h)
            ii, kk = np.nonzero(c)
            ii, kk = np.repeat(ii, c[ii, kk]), np.repeat(kk, c[ii, kk])
        else:  # multi-catch: caught with probability 1 - exp(-H), at a detector in proportion to its hazard
            Ht = h.sum(axis=1)
            got = rng.random(len(h)) < -np.expm1(-Ht)
            ii = np.flatnonzero(got)
            cum = np.cumsum(h[ii], axis=1)
            kk = (cum < rng.random(len(ii))[:, None] * cum[:, -1:]).sum(axis=1)
        rows += [(int(i), s, int(t)) for i, t in zip(ii, kk)]
        caught_before[np.unique(ii)] = True
    if not rows:
        raise EconetError("no animal was detected in the simulation")
    arr = np.array(rows)
    animals = np.unique(arr[:, 0])
    pos = {a: j for j, a in enumerate(animals)}
    names = np.array([ids[a] if ids is not None else f"A{a + 1:04d}" for a in animals])
    ch = scr.CaptureHistory(traps, n_occasions, names, np.array([pos[a] for a in arr[:, 0]]), arr[:, 1],
                            arr[:, 2], np.ones(len(arr), int))
    return ch, animals
