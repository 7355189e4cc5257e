"""Maximum-likelihood spatially explicit capture-recapture (SECR), with the semantics of R's secr.

Density of activity centres is a homogeneous Poisson process over a habitat mask (a grid of points,
each standing for a cell of known area); detection depends on the distance from a centre to each
detector through a detection function (Borchers & Efford 2008; Efford 2004; Efford, Borchers &
Byrom 2009). The integral over activity centres is a sum over mask points, as in secr.

Everything here is pure numpy/scipy: arrays in, a :class:`SCRFit` out. Readers for secr's file
formats live in :mod:`econet.analytics.secr_formats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import optimize, sparse
from scipy.special import gammaln

from econet.errors import EconetError

DETECTORS = ("multi", "proximity", "count", "polygonX")
DETECTFNS = ("HN", "EX", "HHN", "HEX")
Z975 = 1.959963984540054  # qnorm(0.975), secr's default alpha = 0.05
_TINY_G = 1e-10  # below this, -log(1-g) == g to double precision


# --------------------------------------------------------------------------------------------
# Data containers
# --------------------------------------------------------------------------------------------

@dataclass
class Traps:
    """Detector layout: ids, coordinates in metres (K x 2) and optional usage (K x S effort)."""

    ids: np.ndarray
    xy: np.ndarray
    usage: np.ndarray | None = None
    detector: str = "multi"
    poly: np.ndarray | None = None      # polygon id of each vertex (area-search detectors)
    covariates: dict | None = None      # name -> one value per detector (scr_models: g0 ~ cov)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids).astype(str)
        self.xy = np.asarray(self.xy, dtype=float).reshape(-1, 2)
        if len(self.ids) != len(self.xy):
            raise EconetError("detector ids and coordinates differ in length")
        if len(set(self.ids.tolist())) != len(self.ids):
            raise EconetError("detector ids are not unique")
        if self.usage is not None:
            self.usage = np.asarray(self.usage, dtype=float)
            if self.usage.ndim != 2 or self.usage.shape[0] != len(self.ids):
                raise EconetError("usage must have one row per detector")
            if (self.usage < 0).any():
                raise EconetError("usage must not be negative")


@dataclass
class CaptureHistory:
    """One session of detections of identified animals at point detectors.

    ``ind``, ``occ`` (0-based) and ``trap`` index the detections; ``count`` is the number of
    detections (1 for traps and binary proximity detectors). ``dead[i]`` is the 0-based occasion on
    which animal i was removed (it is unavailable afterwards), or ``n_occasions`` if never.
    """

    traps: Traps
    n_occasions: int
    animal_ids: np.ndarray
    ind: np.ndarray
    occ: np.ndarray
    trap: np.ndarray
    count: np.ndarray
    dead: np.ndarray | None = None
    session: str = "1"
    xy: np.ndarray | None = None        # detection coordinates (polygon detectors)

    def __post_init__(self) -> None:
        self.animal_ids = np.asarray(self.animal_ids).astype(str)
        self.ind = np.asarray(self.ind, dtype=int)
        self.occ = np.asarray(self.occ, dtype=int)
        self.trap = np.asarray(self.trap, dtype=int)
        self.count = np.asarray(self.count, dtype=int)
        n = len(self.animal_ids)
        if self.dead is None:
            self.dead = np.full(n, self.n_occasions, dtype=int)
        self.dead = np.asarray(self.dead, dtype=int)
        if self.n_occasions < 1:
            raise EconetError("a session needs at least one occasion", field="occasion")
        if len(self.occ) and (self.occ.min() < 0 or self.occ.max() >= self.n_occasions):
            raise EconetError(f"occasion outside 1..{self.n_occasions}", field="occasion")
        n_det = len(self.traps.ids) if self.traps.poly is None else len(np.unique(self.traps.poly))
        if len(self.trap) and (self.trap.min() < 0 or self.trap.max() >= n_det):
            raise EconetError("detection at an unknown detector", field="detector")
        if (self.count < 1).any():
            raise EconetError("detection counts must be positive", field="count")
        if self.traps.usage is not None and self.traps.usage.shape[1] != self.n_occasions:
            raise EconetError(f"usage has {self.traps.usage.shape[1]} occasions but the captures "
                              f"have {self.n_occasions}", field="usage")

    @property
    def n(self) -> int:
        return len(self.animal_ids)

    @property
    def n_detections(self) -> int:
        return int(self.count.sum())


@dataclass
class Mask:
    """Habitat mask: points (M x 2, metres), each the centre of a square cell of side ``spacing``."""

    xy: np.ndarray
    spacing: float
    covariates: dict | None = None      # name -> one value per mask point (scr_models: D ~ cov)

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=float).reshape(-1, 2)
        if self.covariates:
            for k, v in self.covariates.items():
                if len(np.asarray(v)) != len(self.xy):
                    raise EconetError(f"mask covariate {k!r} needs one value per mask point", field=k)
        if len(self.xy) == 0:
            raise EconetError("the habitat mask has no points")
        if not (self.spacing > 0):
            raise EconetError("mask spacing must be positive")

    @property
    def cell_area_ha(self) -> float:
        return self.spacing ** 2 / 1e4

    @property
    def area_ha(self) -> float:
        return self.cell_area_ha * len(self.xy)


# --------------------------------------------------------------------------------------------
# Habitat masks (secr make.mask semantics)
# --------------------------------------------------------------------------------------------

def infer_spacing(xy: np.ndarray) -> float:
    """Grid spacing of mask points: the smallest positive gap between distinct x or y values."""
    xy = np.asarray(xy, dtype=float)
    gaps = []
    for col in (0, 1):
        u = np.unique(np.round(xy[:, col], 9))
        if len(u) > 1:
            d = np.diff(u)
            gaps.append(d[d > 1e-9].min())
    if not gaps:
        raise EconetError("cannot infer the mask spacing from a single point; give it explicitly")
    return float(min(gaps))


def mask_from_points(xy: np.ndarray, spacing: float | None = None) -> Mask:
    """A mask from given points (e.g. a mask CSV exported from secr)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return Mask(xy, spacing if spacing else infer_spacing(xy))


def _points_in(xy: np.ndarray, geom) -> np.ndarray:
    import shapely
    return shapely.contains_xy(geom, xy[:, 0], xy[:, 1])


def make_mask(traps_xy: np.ndarray | None = None, buffer: float = 100.0, spacing: float | None = None,
              nx: int = 64, kind: str = "trapbuffer", polygon=None, exclude=None) -> Mask:
    """Habitat mask as secr's make.mask.

    ``kind`` is "trapbuffer" (points within ``buffer`` of a detector; secr.fit's default with nx=64),
    "traprect" (the buffered bounding box) or "polygon" (cell centres inside ``polygon``, a shapely
    geometry in the traps' coordinates). ``polygon`` with a trap kind clips the mask to habitat;
    ``exclude`` (a geometry, e.g. lakes) removes cells whose centres fall inside it.
    """
    if kind not in ("trapbuffer", "traprect", "polygon"):
        raise EconetError(f"unknown mask kind {kind!r}")
    if kind == "polygon":
        if polygon is None:
            raise EconetError("a polygon mask needs a habitat polygon")
        xmin, ymin, xmax, ymax = polygon.bounds
        xl, yl = (xmin, xmax), (ymin, ymax)
    else:
        if traps_xy is None or len(traps_xy) == 0:
            raise EconetError("a buffered mask needs detector locations")
        if not buffer or buffer <= 0:
            raise EconetError("buffer must be positive", field="buffer")
        t = np.asarray(traps_xy, dtype=float)
        xl = (t[:, 0].min() - buffer, t[:, 0].max() + buffer)
        yl = (t[:, 1].min() - buffer, t[:, 1].max() + buffer)
    if spacing is None:
        spacing = (xl[1] - xl[0]) / nx
    if not spacing or spacing <= 0:
        raise EconetError("mask spacing must be positive", field="spacing")
    # R's seq(from, to, by) keeps values <= to (with a small tolerance)
    x = np.arange(xl[0] + spacing / 2, xl[1] + 1e-10 * spacing, spacing)
    y = np.arange(yl[0] + spacing / 2, yl[1] + 1e-10 * spacing, spacing)
    gx, gy = np.meshgrid(x, y)  # expand.grid order: x varies fastest
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    if kind == "trapbuffer":
        from scipy.spatial import cKDTree
        dist, _ = cKDTree(np.asarray(traps_xy, dtype=float)).query(pts)
        pts = pts[dist <= buffer]
    if polygon is not None:
        pts = pts[_points_in(pts, polygon)]
    if exclude is not None:
        pts = pts[~_points_in(pts, exclude)]
    if len(pts) == 0:
        raise EconetError("the habitat mask has no points (check buffer, spacing and polygons)")
    return Mask(pts, float(spacing))


# --------------------------------------------------------------------------------------------
# Likelihood
# --------------------------------------------------------------------------------------------

def _dist2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a[:, None, 0] - b[None, :, 0]) ** 2 + (a[:, None, 1] - b[None, :, 1]) ** 2
    return d2


@dataclass
class _Session:
    """Arrays of one session prepared once for repeated likelihood evaluation."""

    ch: CaptureHistory
    mask: Mask
    detector: str
    d2: np.ndarray                      # M x K squared distances
    d: np.ndarray | None                # M x K distances (EX, HEX)
    usage: np.ndarray                   # K x S
    avail: np.ndarray                   # n x S: 1 while the animal is alive/available
    not_caught: np.ndarray              # n x S availability x (not caught) (multi)
    caught: np.ndarray                  # n x S caught indicator (multi)
    ntrap: sparse.csr_matrix            # n x K detections (counts) per animal and detector
    const: np.ndarray                   # n: data-only terms (sum c log u - log c!)
    pair_trap: np.ndarray               # P distinct (detector, usage) pairs (proximity)
    pair_u: np.ndarray
    pair_inc: sparse.csr_matrix         # n x P
    det_trap: np.ndarray                # J
    det_ind: np.ndarray                 # J animal index
    log_multinom: float                 # log(n! / prod n_c!) over distinct histories
    cols: np.ndarray = None             # detectors with any detection (log h needed only there)
    ntrap_sub: sparse.csr_matrix = None # ntrap restricted to cols
    pair_col: np.ndarray = None         # pair_trap as an index into cols
    unit_usage: bool = False            # all usage 1: every occasion has the same hazard
    work: tuple | None = None           # M x K scratch buffers for _hazard


def _prepare(ch: CaptureHistory, mask: Mask, detector: str, detectfn: str) -> _Session:
    if detector == "polygonX":
        return _prepare_polygon(ch, mask, detectfn)
    if ch.traps.poly is not None:
        raise EconetError("these detectors are polygons: use --detector polygonX", field="detector")
    n, S = ch.n, ch.n_occasions
    K = len(ch.traps.ids)
    if n == 0:
        raise EconetError("no animals were detected", field="ID")
    usage = ch.traps.usage if ch.traps.usage is not None else np.ones((K, S))
    d2 = _dist2(mask.xy, ch.traps.xy)
    d = np.sqrt(d2) if detectfn in ("EX", "HEX") else None
    occs = np.arange(S)
    avail = (occs[None, :] <= ch.dead[:, None]).astype(float)
    # merge duplicate (animal, occasion, detector) rows
    key = (ch.ind * S + ch.occ) * K + ch.trap
    ukey, inv = np.unique(key, return_inverse=True)
    cnt = np.bincount(inv, weights=ch.count).astype(int)
    ind = ukey // (S * K)
    occ = (ukey // K) % S
    trap = ukey % K
    caught = np.zeros((n, S))
    caught[ind, occ] = 1.0
    if detector == "multi":
        per = np.bincount(ind * S + occ, minlength=n * S)
        if per.max() > 1 or cnt.max() > 1:
            raise EconetError("multi-catch traps allow one detection per animal per occasion; "
                              "use --detector proximity or count for these data", field="detector")
    elif detector == "proximity":
        if cnt.max() > 1:
            raise EconetError("binary proximity detectors record at most one detection per animal, "
                              "detector and occasion; use --detector count", field="count")
    du = usage[trap, occ]
    if (du <= 0).any():
        raise EconetError("an animal was detected at a detector with zero usage on that occasion",
                          field="usage")
    ntrap = np.zeros((n, K))
    np.add.at(ntrap, (ind, trap), cnt)
    const = np.zeros(n)
    if detector == "multi":
        np.add.at(const, ind, np.log(du))
    elif detector == "count":
        np.add.at(const, ind, cnt * np.log(du) - gammaln(cnt + 1))
    pairs, pinv = np.unique(np.column_stack([trap, du]), axis=0, return_inverse=True)
    pinv = np.asarray(pinv).ravel()
    pair_inc = np.zeros((n, len(pairs)))
    np.add.at(pair_inc, (ind, pinv), 1.0)
    # multinomial coefficient over distinct capture histories (secr includes it)
    hist: dict[tuple, int] = {}
    per_animal: list[list] = [[] for _ in range(n)]
    for j in np.lexsort((trap, occ, ind)):
        per_animal[ind[j]].append((int(occ[j]), int(trap[j]), int(cnt[j])))
    for i in range(n):
        k = (tuple(per_animal[i]), int(ch.dead[i]))
        hist[k] = hist.get(k, 0) + 1
    log_multinom = float(gammaln(n + 1) - sum(gammaln(c + 1) for c in hist.values()))
    cols = np.unique(trap)
    pos = np.searchsorted(cols, pairs[:, 0].astype(int))
    return _Session(ch, mask, detector, d2, d, usage, avail, avail * (1 - caught), caught,
                    sparse.csr_matrix(ntrap), const, pairs[:, 0].astype(int), pairs[:, 1],
                    sparse.csr_matrix(pair_inc), trap, ind, log_multinom, cols,
                    sparse.csr_matrix(ntrap[:, cols]), pos, bool(np.all(usage == 1.0)))


@dataclass
class _PolySession:
    """Exclusive area search (secr 'polygonX'; Efford 2011): at most one detection per animal and
    occasion, at a recorded location inside axis-aligned rectangular search areas."""

    ch: CaptureHistory
    mask: Mask
    detector: str
    rects: np.ndarray                   # R x 4: xmin, xmax, ymin, ymax
    d2: np.ndarray                      # J x M squared distances detection - mask point
    caught: np.ndarray                  # n x S
    not_caught: np.ndarray              # n x S
    inc: sparse.csr_matrix              # n x J
    det_ind: np.ndarray
    det_xy: np.ndarray
    log_multinom: float


def _prepare_polygon(ch: CaptureHistory, mask: Mask, detectfn: str) -> _PolySession:
    if detectfn != "HHN":
        raise EconetError("polygon detectors are implemented for the hazard half-normal "
                          "(--detectfn HHN, secr's default for polygons)", field="detectfn")
    if ch.traps.poly is None or ch.xy is None:
        raise EconetError("polygonX needs polygon vertices and detection x-y coordinates")
    rects = []
    for pid in np.unique(ch.traps.poly):
        v = ch.traps.xy[ch.traps.poly == pid]
        xs, ys = np.unique(np.round(v[:, 0], 9)), np.unique(np.round(v[:, 1], 9))
        if len(xs) != 2 or len(ys) != 2:
            raise EconetError("only axis-aligned rectangular search areas are supported",
                              field="polyID")
        rects.append((xs[0], xs[1], ys[0], ys[1]))
    rects = np.array(rects)
    n, S = ch.n, ch.n_occasions
    if n == 0:
        raise EconetError("no animals were detected", field="ID")
    per = np.bincount(ch.ind * S + ch.occ, minlength=n * S)
    if per.max() > 1:
        raise EconetError("polygonX allows one detection per animal per occasion", field="occasion")
    caught = np.zeros((n, S))
    caught[ch.ind, ch.occ] = 1.0
    avail = (np.arange(S)[None, :] <= ch.dead[:, None]).astype(float)
    J = len(ch.ind)
    inc = sparse.csr_matrix((np.ones(J), (ch.ind, np.arange(J))), shape=(n, J))
    d2 = _dist2(ch.xy, mask.xy)
    hist: dict[tuple, int] = {}
    for i in range(n):
        k = tuple(sorted((int(o), float(x), float(y))
                         for o, (x, y) in zip(ch.occ[ch.ind == i], ch.xy[ch.ind == i])))
        hist[k] = hist.get(k, 0) + 1
    log_multinom = float(gammaln(n + 1) - sum(gammaln(c + 1) for c in hist.values()))
    return _PolySession(ch, mask, "polygonX", rects, d2, caught, avail * (1 - caught), inc,
                        ch.ind.copy(), ch.xy, log_multinom)


def _polygon_terms(s: _PolySession, lambda0: float, sigma: float):
    """log Pr(omega_i | x_m) and p.(x_m) for exclusive polygon searches, hazard half-normal.

    Per occasion the hazard is H(x) = lambda0 * integral over the search area of the bivariate
    normal kernel k(u|x) (sd sigma); detection at u on an occasion has probability density
    (1 - exp(-H)) * lambda0 * k(u|x) / H."""
    from scipy.special import ndtr
    mx, my = s.mask.xy[:, 0], s.mask.xy[:, 1]
    P = np.zeros(len(mx))
    for x1, x2, y1, y2 in s.rects:
        P += ((ndtr((x2 - mx) / sigma) - ndtr((x1 - mx) / sigma))
              * (ndtr((y2 - my) / sigma) - ndtr((y1 - my) / sigma)))
    H = lambda0 * P
    S = s.caught.shape[1]
    pdot = -np.expm1(-S * H)
    with np.errstate(divide="ignore"):
        F = np.log(-np.expm1(-H)) - np.log(H) + math.log(lambda0)
    logk = s.d2 * (-1.0 / (2 * sigma * sigma)) - math.log(2 * math.pi * sigma * sigma)
    ncaught = s.caught.sum(axis=1)
    logpr = (-(s.not_caught.sum(axis=1))[:, None] * H[None, :] + ncaught[:, None] * F[None, :]
             + s.inc @ logk)
    return np.asarray(logpr), pdot


def _hazard(s: _Session, detectfn: str, a0: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-occasion hazard h (M x K) at unit usage, and log h at the detected detectors (M x C).

    Works in two M x K buffers kept on the session (no large allocations per evaluation)."""
    if s.work is None:
        s.work = (np.empty_like(s.d2), np.empty_like(s.d2))
    z, h = s.work
    if detectfn in ("HN", "HHN"):
        np.multiply(s.d2, -1.0 / (2.0 * sigma * sigma), out=z)
    else:
        np.multiply(s.d, -1.0 / sigma, out=z)
    z += math.log(a0)                          # log g (HN, EX) or log lambda (HHN, HEX)
    if detectfn in ("HHN", "HEX"):
        np.exp(z, out=h)
        return h, z[:, s.cols]
    logg = z[:, s.cols]
    np.exp(z, out=h)                           # g
    big = h[:, s.cols] >= _TINY_G              # elsewhere -log(1-g) == g: log h == log g
    np.negative(h, out=h)
    np.log1p(h, out=h)
    np.negative(h, out=h)                      # h = -log(1 - g)
    hc = h[:, s.cols]
    logh = np.where(big, np.log(np.where(big, hc, 1.0)), logg)
    return h, logh


def _session_terms(s: _Session, detectfn: str, a0: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """log Pr(omega_i | x_m) (n x M) and p.(x_m) (M)."""
    if isinstance(s, _PolySession):
        return _polygon_terms(s, a0, sigma)
    h, logh = _hazard(s, detectfn, a0, sigma)
    if s.unit_usage:
        H1 = h.sum(axis=1)
        Hs = np.broadcast_to(H1, (s.usage.shape[1], len(H1)))
    else:
        Hs = (h @ s.usage).T                   # S x M total hazard per occasion
    pdot = -np.expm1(-Hs.sum(axis=0))
    if s.detector == "multi":
        F = np.log(-np.expm1(-Hs)) - np.log(Hs)  # S x M
        logpr = -(s.not_caught @ Hs) + s.caught @ F + (s.ntrap_sub @ logh.T) + s.const[:, None]
    elif s.detector == "proximity":
        uh = h[:, s.pair_trap] * s.pair_u       # M x P
        T = np.log(-np.expm1(-uh)) + uh
        logpr = -(s.avail @ Hs) + s.pair_inc @ T.T
    else:  # Poisson counts
        logpr = -(s.avail @ Hs) + (s.ntrap_sub @ logh.T) + s.const[:, None]
    return np.asarray(logpr), pdot


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    mx = a.max(axis=1, keepdims=True)
    mx[~np.isfinite(mx)] = 0.0
    return np.log(np.exp(a - mx).sum(axis=1)) + mx[:, 0]


def _detection_ll(sessions: Sequence[_Session], detectfn: str, a0: float, sigma: float):
    """Sum over sessions of sum_i log(sum_m Pr(w_i|x_m)) and the per-session sum_m p.(x_m)."""
    total = 0.0
    psum = []
    for s in sessions:
        logpr, pdot = _session_terms(s, detectfn, a0, sigma)
        total += float(_logsumexp_rows(logpr).sum())
        psum.append(float(pdot.sum()))
    return total, np.array(psum)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------

@dataclass
class Estimate:
    """A real-scale estimate with its link, SE and back-transformed Wald 95% interval."""

    estimate: float
    se: float
    lcl: float
    ucl: float
    link: str = "log"

    def as_dict(self) -> dict:
        """Plain floats; None where a value is undefined (e.g. SE of a singular fit)."""
        return {k: (float(v) if np.isfinite(v) else None)
                for k, v in (("estimate", self.estimate), ("se", self.se), ("lcl", self.lcl),
                             ("ucl", self.ucl))}


@dataclass
class SCRFit:
    """Result of :func:`fit`. D is animals per hectare (as secr)."""

    D: Estimate
    detection: Estimate                 # g0 (HN, EX) or lambda0 (HHN, HEX)
    sigma: Estimate
    loglik: float
    aic: float
    aicc: float
    n_animals: int
    n_detections: int
    n_occasions: list[int]
    n_parameters: int
    detector: str
    detectfn: str
    likelihood: str
    beta: np.ndarray
    vcov: np.ndarray
    mask_area_ha: float
    esa_ha: list[float]
    sessions: list[_Session] = field(repr=False, default_factory=list)

    @property
    def detection_name(self) -> str:
        return "lambda0" if self.detectfn in ("HHN", "HEX") else "g0"

    def as_dict(self) -> dict:
        out = {"D": self.D.as_dict(), self.detection_name: self.detection.as_dict(),
               "sigma": self.sigma.as_dict(), "loglik": self.loglik, "aic": self.aic,
               "aicc": self.aicc, "n_animals": self.n_animals, "n_detections": self.n_detections,
               "n_occasions": self.n_occasions if len(self.n_occasions) > 1 else self.n_occasions[0],
               "n_parameters": self.n_parameters, "detector": self.detector,
               "detectfn": self.detectfn, "likelihood": self.likelihood,
               "D_units": "animals per hectare", "mask_area_ha": self.mask_area_ha,
               "esa_ha": self.esa_ha if len(self.esa_ha) > 1 else self.esa_ha[0]}
        return out


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _real(beta_val: float, se_beta: float, link: str) -> Estimate:
    """Back-transform as secr: SE by the delta method (se.untransform), CI on the link scale."""
    lo, hi = beta_val - Z975 * se_beta, beta_val + Z975 * se_beta
    if link == "log":
        est = math.exp(beta_val)
        se = est * math.sqrt(math.expm1(se_beta ** 2)) if np.isfinite(se_beta) else float("nan")
        return Estimate(est, se, math.exp(lo), math.exp(hi), link)
    est = float(_expit(beta_val))
    se = est * (1 - est) * se_beta
    return Estimate(est, se, float(_expit(lo)), float(_expit(hi)), link)


def _derivs(f, x: np.ndarray, richardson: bool = True):
    """Value, gradient and Hessian of every component of a vector function by central differences.

    One stencil serves all components (the objective and log esa); with ``richardson`` two step
    sizes are combined, which makes the Hessian accurate to about 1e-8 relative.
    """
    x = np.asarray(x, dtype=float)
    p = len(x)
    f0 = np.asarray(f(x), dtype=float)

    def once(step):
        G = np.zeros((len(f0), p))
        H = np.zeros((len(f0), p, p))
        for i in range(p):
            ei = np.zeros(p); ei[i] = step[i]
            fp, fm = np.asarray(f(x + ei)), np.asarray(f(x - ei))
            G[:, i] = (fp - fm) / (2 * step[i])
            H[:, i, i] = (fp - 2 * f0 + fm) / step[i] ** 2
            for j in range(i + 1, p):
                ej = np.zeros(p); ej[j] = step[j]
                H[:, i, j] = H[:, j, i] = (np.asarray(f(x + ei + ej)) - np.asarray(f(x + ei - ej))
                                           - np.asarray(f(x - ei + ej))
                                           + np.asarray(f(x - ei - ej))) / (4 * step[i] * step[j])
        return G, H

    step = 1e-3 * np.maximum(1.0, np.abs(x))
    G1, H1 = once(step)
    if not richardson:
        return f0, G1, H1
    G2, H2 = once(step / 2)
    return f0, (4 * G2 - G1) / 3, (4 * H2 - H1) / 3


def _start(sessions: Sequence[_Session], detectfn: str) -> np.ndarray:
    """Starting detection betas: sigma from the spread of each animal's detections, g0 0.2."""
    spreads = []
    for s in sessions:
        xy = s.det_xy if isinstance(s, _PolySession) else s.ch.traps.xy[s.det_trap]
        ind = s.det_ind
        for i in np.unique(ind):
            pts = xy[ind == i]
            if len(pts) > 1:
                spreads.append(((pts - pts.mean(0)) ** 2).sum(1).mean() / 2)
    if spreads:
        sig = math.sqrt(np.mean(spreads)) * 1.2
    else:
        t = sessions[0].ch.traps.xy
        from scipy.spatial import cKDTree
        dd, _ = cKDTree(t).query(t, k=2) if len(t) > 1 else (np.array([[0, 1.0]]), None)
        sig = float(np.median(dd[:, 1]))
    if detectfn in ("EX", "HEX"):
        sig /= 1.5
    sig = max(sig, 1e-3)
    a0 = 0.2
    return np.array([math.log(a0) if detectfn in ("HHN", "HEX") else _logit(a0), math.log(sig)])


def fit(captures: CaptureHistory | Sequence[CaptureHistory], masks: Mask | Sequence[Mask],
        detector: str = "multi", detectfn: str = "HN", likelihood: str = "full",
        start: Sequence[float] | None = None, progress=None) -> SCRFit:
    """Fit the null SECR model (D~1, g0~1, sigma~1) by maximum likelihood, as secr.fit.

    One CaptureHistory per session with its mask; D, g0 (or lambda0) and sigma are shared by all
    sessions. ``likelihood`` "full" maximises the joint likelihood of n and the histories (Poisson
    n); "conditional" maximises the likelihood conditional on n and derives D = n / esa.
    """
    from threadpoolctl import threadpool_limits
    # the matrices are small: BLAS threads only contend (10x slower on a busy 2-core machine)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(captures, masks, detector, detectfn, likelihood, start, progress)


def _fit(captures, masks, detector, detectfn, likelihood, start, progress) -> SCRFit:
    if detector not in DETECTORS:
        raise EconetError(f"detector must be one of {', '.join(DETECTORS)}", field="detector")
    if detectfn not in DETECTFNS:
        raise EconetError(f"detectfn must be one of {', '.join(DETECTFNS)}", field="detectfn")
    if likelihood not in ("full", "conditional"):
        raise EconetError("likelihood must be full or conditional", field="likelihood")
    chs = [captures] if isinstance(captures, CaptureHistory) else list(captures)
    mks = [masks] if isinstance(masks, Mask) else list(masks)
    if len(mks) == 1 and len(chs) > 1:
        mks = mks * len(chs)
    if len(mks) != len(chs):
        raise EconetError("give one mask per session (or one for all)")
    sessions = [_prepare(c, m, detector, detectfn) for c, m in zip(chs, mks)]
    n_s = np.array([s.ch.n for s in sessions], dtype=float)
    n_tot = float(n_s.sum())
    cell = np.array([s.mask.cell_area_ha for s in sessions])
    lambda_link = detectfn in ("HHN", "HEX")

    def a0_of(b):
        return math.exp(b) if lambda_link else float(_expit(b))

    def parts(th):
        """(sum_i log sum_m Pr(w_i|x_m), per-session sum_m p.) or None outside the domain."""
        th = np.asarray(th, dtype=float)
        if not np.all(np.isfinite(th)) or abs(th[0]) > 30 or abs(th[1]) > 30:
            return None
        a0 = a0_of(th[0])
        if not lambda_link and a0 >= 1.0:
            return None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sumlog, psum = _detection_ll(sessions, detectfn, a0, math.exp(th[1]))
        if not np.isfinite(sumlog) or np.any(psum <= 0) or not np.all(np.isfinite(psum)):
            return None
        return sumlog, psum

    cache: dict[tuple, np.ndarray] = {}
    bad = np.array([1e300, 0.0])

    def ev(th):
        """[objective to minimise, log esa]: the profile full likelihood (D maximised out,
        exact for homogeneous D) or the conditional likelihood."""
        key = tuple(np.asarray(th, dtype=float).tolist())
        if key not in cache:
            pr = parts(th)
            if pr is None:
                cache[key] = bad
            else:
                Q = float((pr[1] * cell).sum())
                if likelihood == "full":
                    obj = -(pr[0] - n_tot * math.log(Q))
                else:
                    obj = -(pr[0] - float((n_s * np.log(pr[1])).sum()))
                cache[key] = np.array([obj, math.log(Q)])
        return cache[key]

    def objective(th):
        return float(ev(th)[0])

    x0 = np.asarray(start, dtype=float) if start is not None else _start(sessions, detectfn)
    res = optimize.minimize(objective, x0, method="Nelder-Mead",
                            options={"xatol": 1e-2, "fatol": 1e-4, "maxiter": 2000})
    th = res.x
    if progress:
        progress(1, 3, "maximising the likelihood")
    # Newton steps on numerical derivatives: plain central differences while far from the
    # optimum, Richardson-extrapolated ones to converge; the last Hessian gives the variances
    G = H = None
    fine = False
    for _ in range(12):
        f0, G, H = _derivs(ev, th, richardson=fine)
        try:
            step = np.linalg.solve(H[0], G[0])
        except np.linalg.LinAlgError:
            step = np.full(2, np.nan)
        if not np.all(np.isfinite(step)) or np.abs(step).max() > 0.5:
            # not yet in the quadratic region: a few more simplex iterations
            th = optimize.minimize(objective, th, method="Nelder-Mead",
                                   options={"xatol": 1e-4, "fatol": 1e-7}).x
            fine = True
            continue
        new = th - step
        if objective(new) > f0[0] + 1e-9:
            break
        th = new
        small = np.abs(step).max()
        if fine and small < 1e-7:
            break
        if small < 1e-4:
            fine = True
    if progress:
        progress(2, 3, "variances")
    if objective(th) >= 1e299:
        raise EconetError("the likelihood could not be maximised (check the mask and detector type)")
    if not fine or H is None:
        f0, G, H = _derivs(ev, th, richardson=True)
    Hobj = H[0]
    q = G[1]                                    # gradient of log esa
    if (not np.all(np.isfinite(Hobj)) or np.any(np.linalg.eigvalsh((Hobj + Hobj.T) / 2) <= 0)
            or np.any(np.abs(th) > 25)):
        raise EconetError("the likelihood has no proper maximum for these data (estimates run to "
                          "a boundary; too few animals detected at more than one detector?)")

    a0, sigma = a0_of(th[0]), math.exp(th[1])
    sumlog, psum = _detection_ll(sessions, detectfn, a0, sigma)
    esa = psum * cell
    Q = float(esa.sum())
    log_mult = sum(s.log_multinom for s in sessions)
    det_link = "log" if lambda_link else "logit"

    if likelihood == "full":
        D = n_tot / Q
        lam = D * esa
        loglik = (float((n_s * np.log(lam) - lam - gammaln(n_s + 1)).sum()) + sumlog
                  - float((n_s * np.log(psum)).sum()) + log_mult)
        beta = np.array([math.log(D), th[0], th[1]])
        # Hessian of -log L in (log D, theta) from the profile's: exact for homogeneous D
        Hf = np.empty((3, 3))
        Hf[0, 0] = n_tot
        Hf[0, 1:] = Hf[1:, 0] = n_tot * q
        Hf[1:, 1:] = Hobj + n_tot * np.outer(q, q)
        vcov = _safe_inv(Hf)
        se = np.sqrt(np.clip(np.diag(vcov), 0, None))
        D_est = _real(beta[0], se[0], "log")
        det_est = _real(beta[1], se[1], det_link)
        sig_est = _real(beta[2], se[2], "log")
        k = 3
    else:
        beta = np.array(th)
        loglik = -float(f0[0]) + log_mult
        vcov = _safe_inv(Hobj)
        se = np.sqrt(np.clip(np.diag(vcov), 0, None))
        det_est = _real(beta[0], se[0], det_link)
        sig_est = _real(beta[1], se[1], "log")
        # secr derived(): D = n / esa, var = n / esa^2 + D^2 var(esa) / esa^2 (Poisson n)
        grad_a = Q * q
        var_a = float(grad_a @ vcov @ grad_a)
        D = n_tot / Q
        cv2 = 1.0 / n_tot + var_a / Q ** 2
        c = math.exp(Z975 * math.sqrt(math.log1p(cv2)))
        D_est = Estimate(D, D * math.sqrt(cv2), D / c, D * c, "log")
        k = 2
    if progress:
        progress(3, 3, "done")
    aic = -2 * loglik + 2 * k
    aicc = aic + 2 * k * (k + 1) / (n_tot - k - 1) if n_tot - k - 1 > 0 else float("nan")
    return SCRFit(D_est, det_est, sig_est, float(loglik), float(aic), float(aicc), int(n_tot),
                  int(sum(s.ch.n_detections for s in sessions)),
                  [s.ch.n_occasions for s in sessions], k, detector, detectfn, likelihood,
                  beta, vcov, float(sum(s.mask.area_ha for s in sessions)), esa.tolist(), sessions)


def _safe_inv(H: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full_like(H, np.nan)


# --------------------------------------------------------------------------------------------
# Derived quantities
# --------------------------------------------------------------------------------------------

def pdot(fitted: SCRFit, session: int = 0) -> np.ndarray:
    """Overall detection probability p.(x) at each mask point of a session."""
    s = fitted.sessions[session]
    _, p = _session_terms(s, fitted.detectfn, fitted.detection.estimate, fitted.sigma.estimate)
    return p


def region_n(fitted: SCRFit, region=None, session: int = 0, spacing: float | None = None,
             inside: np.ndarray | None = None) -> dict:
    """Expected (E.N) and realised (R.N) number of activity centres in a region, as secr region.N.

    ``region`` is a shapely geometry in the mask's coordinates (e.g. one country), or None for the
    fitted mask. As in secr the region is discretised on its own grid (``spacing``, default the
    mask's), so it may extend beyond the fitted mask: E.N = D x region area. ``inside`` (boolean per
    mask point) instead takes a part of the fitted mask itself. R.N adds to the
    expected undetected animals in the region the detected animals weighted by the probability
    that their centre lies in it.
    """
    s = fitted.sessions[session]
    a0, sigma = fitted.detection.estimate, fitted.sigma.estimate
    logpr, p = _session_terms(s, fitted.detectfn, a0, sigma)
    post = np.exp(logpr - _logsumexp_rows(logpr)[:, None])
    D = fitted.D
    if inside is not None:  # a part of the fitted mask (e.g. its cells in one country)
        inside = np.asarray(inside, bool)
        area = s.mask.cell_area_ha * float(inside.sum())
        detected_in = float(post[:, inside].sum())
        undetected = D.estimate * s.mask.cell_area_ha * float((1 - p[inside]).sum())
    elif region is None:
        area = s.mask.area_ha
        detected_in = float(post.sum())
        undetected = D.estimate * s.mask.cell_area_ha * float((1 - p).sum())
    else:
        rmask = make_mask(kind="polygon", polygon=region, spacing=spacing or s.mask.spacing)
        area = rmask.area_ha
        detected_in = float(post[:, _points_in(s.mask.xy, region)].sum())
        rs = _prepare(s.ch, rmask, fitted.detector, fitted.detectfn)
        _, pr = _session_terms(rs, fitted.detectfn, a0, sigma)
        undetected = D.estimate * rmask.cell_area_ha * float((1 - pr).sum())
    return {"E.N": {"estimate": D.estimate * area, "se": D.se * area, "lcl": D.lcl * area,
                    "ucl": D.ucl * area},
            "R.N": {"estimate": detected_in + undetected},
            "detected_in_region": detected_in, "region_area_ha": area}


def profile_ci_D(fitted: SCRFit, alpha: float = 0.05) -> tuple[float, float]:
    """Profile-likelihood confidence interval for D (full likelihood), as secr's confint.

    For each trial log D the detection parameters are re-maximised; the limits are where the
    profile log-likelihood falls qchisq(1 - alpha, 1) / 2 below its maximum.
    """
    from scipy.stats import chi2
    if fitted.likelihood != "full":
        raise EconetError("profile intervals for D need a full-likelihood fit (D is derived "
                          "under the conditional likelihood)")
    sessions, detectfn = fitted.sessions, fitted.detectfn
    n_tot = float(fitted.n_animals)
    cell = np.array([s.mask.cell_area_ha for s in sessions])
    lambda_link = detectfn in ("HHN", "HEX")

    def negf(b0, th):
        th = np.asarray(th, dtype=float)
        a0 = math.exp(th[0]) if lambda_link else float(_expit(th[0]))
        if not np.all(np.isfinite(th)) or (not lambda_link and a0 >= 1.0) or abs(th[1]) > 30:
            return 1e300
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            S, psum = _detection_ll(sessions, detectfn, a0, math.exp(th[1]))
        if not np.isfinite(S):
            return 1e300
        return -(n_tot * b0 - math.exp(b0) * float((psum * cell).sum()) + S)

    state = {"th": np.array(fitted.beta[1:], dtype=float)}

    def profile(b0):
        """(profile log L at log D = b0, its derivative N - D * esa by the envelope theorem)."""
        th = state["th"].copy()
        f = lambda t: np.array([negf(b0, t)])  # noqa: E731
        for _ in range(10):
            f0, G, H = _derivs(f, th, richardson=False)
            try:
                step = np.linalg.solve(H[0], G[0])
            except np.linalg.LinAlgError:
                step = np.full(2, np.nan)
            if not np.all(np.isfinite(step)) or np.abs(step).max() > 1.0:
                th = optimize.minimize(lambda t: negf(b0, t), th, method="Nelder-Mead",
                                       options={"xatol": 1e-6, "fatol": 1e-9}).x
                continue
            if negf(b0, th - step) > f0[0] + 1e-10:
                break
            th = th - step
            if np.abs(step).max() < 1e-6:
                break
        state["th"] = th
        a0 = math.exp(th[0]) if lambda_link else float(_expit(th[0]))
        _, psum = _detection_ll(sessions, detectfn, a0, math.exp(th[1]))
        return -negf(b0, th), n_tot - math.exp(b0) * float((psum * cell).sum())

    b_hat = float(fitted.beta[0])
    ll_max = profile(b_hat)[0]
    target = ll_max - chi2.ppf(1 - alpha, 1) / 2
    se = math.sqrt(fitted.vcov[0, 0]) if np.isfinite(fitted.vcov[0, 0]) else 0.5
    limits = []
    for side in (-1.0, 1.0):
        state["th"] = np.array(fitted.beta[1:], dtype=float)
        b = b_hat + side * Z975 * se            # the Wald limit is a good start
        for _ in range(30):
            ll, d = profile(b)
            if d == 0 or not np.isfinite(ll):
                break
            step = (ll - target) / d
            # stay on the correct side of the maximum
            nb = b - step
            if (nb - b_hat) * side <= 0:
                nb = b_hat + (b - b_hat) / 2
            b = nb
            if abs(step) < 1e-9:
                break
        limits.append(math.exp(b))
    return limits[0], limits[1]


def plot_fit(fitted: SCRFit, path, session: int = 0, region=None, title: str | None = None):
    """Map of a fit: the habitat mask shaded by detection probability p.(x), the detectors, each
    animal's detections joined, and an optional region outline (e.g. a border); PNG written
    atomically."""
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econet.atomic import atomic_path

    s = fitted.sessions[session]
    p = pdot(fitted, session)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    half = s.mask.spacing / 2
    x0, y0 = s.mask.xy[:, 0].min(), s.mask.xy[:, 1].min()
    ix = np.rint((s.mask.xy[:, 0] - x0) / s.mask.spacing).astype(int)
    iy = np.rint((s.mask.xy[:, 1] - y0) / s.mask.spacing).astype(int)
    grid = np.full((iy.max() + 1, ix.max() + 1), np.nan)
    grid[iy, ix] = p
    sc = ax.imshow(grid, origin="lower", cmap="YlGn", vmin=0, vmax=max(float(p.max()), 1e-9),
                   extent=(x0 - half, x0 + (ix.max() + 0.5) * s.mask.spacing,
                           y0 - half, y0 + (iy.max() + 0.5) * s.mask.spacing),
                   interpolation="nearest")
    fig.colorbar(sc, ax=ax, shrink=0.8, label="p.(x): probability of detection")
    t = s.ch.traps
    if t.poly is not None:
        for pid in np.unique(t.poly):
            v = t.xy[t.poly == pid]
            ax.plot(v[:, 0], v[:, 1], color="red", linewidth=1)
        det_xy = s.ch.xy
    else:
        ax.plot(t.xy[:, 0], t.xy[:, 1], "+", color="red", markersize=5, label="detectors")
        det_xy = t.xy[s.ch.trap]
    for i in range(s.ch.n):
        pts = det_xy[s.ch.ind == i]
        ax.plot(pts[:, 0], pts[:, 1], "-o", color="#1f4e79", markersize=2.5, linewidth=0.8,
                alpha=0.7)
    if region is not None:
        import shapely
        for g in getattr(region, "geoms", [region]):
            if isinstance(g, shapely.Polygon):
                x, y = g.exterior.xy
                ax.plot(x, y, color="black", linewidth=1.2)
            elif hasattr(g, "xy"):
                x, y = g.xy
                ax.plot(x, y, color="black", linewidth=1.2)
    ax.set_xlim(s.mask.xy[:, 0].min() - half, s.mask.xy[:, 0].max() + half)
    ax.set_ylim(s.mask.xy[:, 1].min() - half, s.mask.xy[:, 1].max() + half)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    D = fitted.D
    ax.set_title(title or f"D = {D.estimate:.4g}/ha ({D.lcl:.3g}-{D.ucl:.3g}), "
                          f"{fitted.detection_name} = {fitted.detection.estimate:.3g}, "
                          f"sigma = {fitted.sigma.estimate:.3g} m; n = {s.ch.n}", fontsize=10)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    return path
