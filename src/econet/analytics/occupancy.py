"""Single-season occupancy (MacKenzie et al. 2002), fitted by maximum likelihood as unmarked's ``occu``.

Detection/non-detection histories ``y`` (sites x occasions, NaN where not surveyed), site covariates for
occupancy (psi) and site or observation covariates for detection (p), both on the logit scale through
R-style formulas such as ``"~1"`` or ``"~MinAfterSunset + Temperature"``. Pure code: arrays and
DataFrames in, a result object out. Readers for unmarked's CSV forms and a builder of detection
histories from camera deployments are here too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from econet.errors import EconetError

Z95 = 1.959963984540054


# --------------------------------------------------------------------------------------------- data


@dataclass
class OccupancyData:
    """What an occupancy fit needs: y (M x J, 1/0/NaN), site covariates and observation covariates.

    ``obs_covs`` maps a covariate name to an M x J array (NaN where the visit did not happen).
    """

    y: np.ndarray
    sites: list[str]
    site_covs: pd.DataFrame = field(default_factory=pd.DataFrame)
    obs_covs: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=float)
        if self.y.ndim != 2:
            raise EconetError("the detection histories must be a table of sites x occasions")
        m, j = self.y.shape
        if len(self.sites) != m:
            raise EconetError(f"{len(self.sites)} site names for {m} detection histories")
        if len(self.site_covs) and len(self.site_covs) != m:
            raise EconetError(f"site covariates have {len(self.site_covs)} rows for {m} sites")
        for name, arr in self.obs_covs.items():
            if np.shape(arr) != (m, j):
                raise EconetError(f"observation covariate '{name}' is not {m} x {j}")

    @property
    def n_sites(self) -> int:
        return self.y.shape[0]

    @property
    def n_occasions(self) -> int:
        return self.y.shape[1]

    def summary(self) -> dict[str, Any]:
        """The figures unmarked's summary(umf) prints: sites, occasions, detections."""
        observed = ~np.isnan(self.y)
        return {"sites": self.n_sites, "max_occasions": self.n_occasions,
                "mean_occasions": float(observed.sum(axis=1).mean()),
                "sites_with_detection": int((np.nan_to_num(self.y) > 0).any(axis=1).sum())}


def _num(values: pd.Series, path: Any, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError):
        bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
        row = int(bad.index[0]) + 2 if len(bad) else None
        raise EconetError(f"'{bad.iloc[0] if len(bad) else '?'}' is not a number", path=path, row=row,
                          field=name) from None


def occupancy_from_long(df: pd.DataFrame, *, path: Any = None, site: str | None = None,
                        visit: str | None = None, y: str | None = None) -> OccupancyData:
    """unmarked's long form (csvToUMF(long=TRUE)): site, visit (date or number), observation, covariates.

    Rows of one site are ordered by the visit column and become occasions 1..J; J is the largest number
    of visits at a site, shorter sites get NaN. Covariates constant within every site are also site
    covariates (so they may enter the psi formula).
    """
    if df.shape[1] < 3:
        raise EconetError("the long form needs at least three columns: site, visit, observation", path=path)
    cols = list(df.columns)
    site = site or cols[0]
    visit = visit or cols[1]
    y = y or cols[2]
    for c in (site, visit, y):
        if c not in df.columns:
            raise EconetError(f"column '{c}' not found", path=path)
    df = df.copy()
    df["_row"] = np.arange(len(df))
    df[site] = df[site].astype(str)
    df["_y"] = _num(df[y], path, y)
    site_order = list(dict.fromkeys(df[site]))
    groups = {s: g.sort_values([visit, "_row"], kind="stable") for s, g in df.groupby(site, sort=False)}
    m, jmax = len(site_order), max(len(g) for g in groups.values())
    ymat = np.full((m, jmax), np.nan)
    covnames = [c for c in cols if c not in (site, y)]  # the visit column (e.g. a date) is a covariate too
    covs = {c: np.full((m, jmax), np.nan) for c in covnames}
    numeric = {c: pd.to_numeric(df[c], errors="coerce").notna().sum() == df[c].notna().sum() for c in covnames}
    for c in covnames:
        if not numeric[c]:
            covs[c] = np.full((m, jmax), None, dtype=object)
    for i, s in enumerate(site_order):
        g = groups[s]
        n = len(g)
        ymat[i, :n] = g["_y"].to_numpy()
        for c in covnames:
            covs[c][i, :n] = g[c].to_numpy(dtype=float if numeric[c] else object)
    site_covs = {}
    for c in covnames:
        per_site = df.groupby(site, sort=False)[c].nunique(dropna=True)
        if (per_site <= 1).all():
            first = df.groupby(site, sort=False)[c].first()
            site_covs[c] = first.reindex(site_order).to_numpy()
    return OccupancyData(ymat, site_order, pd.DataFrame(site_covs), covs)


_WIDE = re.compile(r"^(.+)\.(\d+)$")


def occupancy_from_wide(df: pd.DataFrame, *, path: Any = None, site: str | None = None,
                        y_prefix: str = "y") -> OccupancyData:
    """unmarked's wide form (csvToUMF(long=FALSE)): site, y.1..y.K, site covariates, obs covariates x.1..x.K."""
    cols = list(df.columns)
    if site is None:
        site = cols[0]
    ycols = sorted([c for c in cols if (mt := _WIDE.match(str(c))) and mt.group(1) == y_prefix],
                   key=lambda c: int(_WIDE.match(c).group(2)))
    if not ycols:
        raise EconetError(f"no detection columns {y_prefix}.1 ... {y_prefix}.K", path=path)
    k = len(ycols)
    ymat = np.column_stack([_num(df[c], path, c) for c in ycols])
    groups: dict[str, list[str]] = {}
    for c in cols:
        mt = _WIDE.match(str(c))
        if mt and mt.group(1) != y_prefix:
            groups.setdefault(mt.group(1), []).append(c)
    obs_covs = {}
    used = set(ycols) | {site}
    for name, cs in groups.items():
        if len(cs) == k:
            cs = sorted(cs, key=lambda c: int(_WIDE.match(c).group(2)))
            obs_covs[name] = np.column_stack([_num(df[c], path, c) for c in cs])
            used |= set(cs)
    site_covs = df[[c for c in cols if c not in used]].reset_index(drop=True)
    return OccupancyData(ymat, [str(s) for s in df[site]], site_covs, obs_covs)


def read_occupancy_csv(path: str | Path, form: str = "auto") -> OccupancyData:
    """Read unmarked's long or wide CSV form (``form`` = 'long', 'wide' or 'auto': wide if y.1 exists)."""
    path = Path(path)
    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # pandas raises many kinds
        raise EconetError(f"cannot read CSV: {exc}", path=path) from None
    if df.empty:
        raise EconetError("no rows", path=path)
    if form == "auto":
        form = "wide" if "y.1" in df.columns else "long"
    if form == "wide":
        return occupancy_from_wide(df, path=path)
    if form == "long":
        return occupancy_from_long(df, path=path)
    raise EconetError(f"unknown form '{form}' (long, wide or auto)")


# ------------------------------------------------------------------------------------------ formulas


@dataclass
class Formula:
    """A parsed R-style one-sided formula: intercept flag and terms (each a tuple of factors)."""

    text: str
    intercept: bool
    terms: list[tuple[str, ...]]


_FACTOR = re.compile(r"^(?:(scale|factor|log|I)\((.+)\)|([A-Za-z_.][A-Za-z0-9_.]*))$")


def parse_formula(text: str) -> Formula:
    """Parse '~1', '~a + b', '~ scale(a) + factor(b)', '~a*b', '~a:b', '~a - 1' (R semantics, no nesting)."""
    t = text.strip()
    if not t.startswith("~"):
        raise EconetError(f"formula '{text}' must start with '~' (e.g. '~1' or '~elev + forest')")
    body = t[1:].replace(" ", "")
    if not body:
        raise EconetError(f"formula '{text}' is empty")
    intercept = True
    terms: list[tuple[str, ...]] = []
    for sign, part in re.findall(r"([+-]?)([^+-]+)", body):
        if part in ("1", "0"):
            if part == "0" or sign == "-":
                intercept = False
            continue
        if sign == "-":
            terms = [tm for tm in terms if tm != tuple(sorted(part.split(":")))]
            continue
        if "*" in part:
            facs = part.split("*")
            for r in range(1, len(facs) + 1):
                for combo in combinations(facs, r):
                    terms.append(tuple(combo))
        else:
            terms.append(tuple(part.split(":")))
    out: list[tuple[str, ...]] = []
    for tm in terms:
        for f in tm:
            if not _FACTOR.match(f):
                raise EconetError(f"cannot read term '{f}' in formula '{text}' "
                                  "(use names, scale(x), factor(x), log(x), a:b, a*b)")
        if tm not in out:
            out.append(tm)
    return Formula(text=text, intercept=intercept, terms=out)


def _scale(values: np.ndarray, spec: dict | None = None, key: str = "") -> np.ndarray:
    """R's scale(): centre on the mean, divide by the sample SD (n-1), ignoring NaN.

    With ``spec``, the centre and scale are stored under ``key`` the first time and reused afterwards
    (so predictions use the fitted data's mean and SD).
    """
    v = values.astype(float)
    if spec is not None and key in spec:
        centre, sd = spec[key]
    else:
        centre, sd = float(np.nanmean(v)), float(np.nanstd(v, ddof=1))
        sd = sd if sd > 0 else 1.0
        if spec is not None:
            spec[key] = (centre, sd)
    return (v - centre) / sd


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _factor_columns(name: str, values: np.ndarray, scale_all: bool, is_numeric: bool,
                    spec: dict | None = None) -> list[tuple[str, np.ndarray]]:
    """Columns (name, values) for one formula factor; categorical gives treatment contrasts as R."""
    mt = _FACTOR.match(name)
    fn, plain = mt.group(1), mt.group(3)
    if fn == "factor" or (fn is None and not is_numeric):
        flat = np.asarray(values, dtype=object).ravel()
        key = f"levels:{name}"
        if spec is not None and key in spec:
            levels = spec[key]
        else:
            present = [v for v in flat if not _is_missing(v)]
            levels = sorted(set(map(str, present)), key=lambda s: (_as_float(s) is None, _as_float(s) or 0, s))
            if spec is not None:
                spec[key] = levels
        cols = []
        for lev in levels[1:]:
            col = np.array([np.nan if _is_missing(v) else float(str(v) == lev) for v in flat])
            cols.append((f"{name}{lev}" if fn == "factor" else f"{plain}{lev}", col.reshape(np.shape(values))))
        return cols
    v = np.asarray(values, dtype=float)
    if fn == "scale":
        return [(name, _scale(v, spec, f"scale:{name}"))]
    if fn == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return [(name, np.log(v))]
    if fn == "I":
        return [(name, v)]
    return [(name, _scale(v, spec, f"scale:{name}") if scale_all else v)]


def _as_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _var_of(factor: str) -> str:
    mt = _FACTOR.match(factor)
    return mt.group(2) if mt.group(1) else mt.group(3)


def design_matrix(formula: Formula, variables: Mapping[str, np.ndarray], n_rows: int,
                  scale_all: bool = False, what: str = "", spec: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Model matrix (rows x coefficients) for a formula over flat variables of length ``n_rows``.

    ``spec`` records (or, when already filled, reuses) the scaling and factor levels of the fit.
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    if formula.intercept:
        blocks.append(np.ones(n_rows))
        names.append("(Intercept)")
    for term in formula.terms:
        per_factor = []
        for f in term:
            var = _var_of(f)
            if var not in variables:
                raise EconetError(f"covariate '{var}' in the {what} formula '{formula.text}' is not in the data "
                                  f"(available: {', '.join(sorted(variables)) or 'none'})")
            vals = np.asarray(variables[var])
            is_num = vals.dtype != object or all(
                v is None or _as_float(str(v)) is not None for v in vals.ravel())
            if vals.dtype == object and is_num and _FACTOR.match(f).group(1) != "factor":
                vals = np.array([np.nan if v is None else float(v) for v in vals.ravel()])
            per_factor.append(_factor_columns(f, vals, scale_all, is_num, spec))
        cols = [("", np.ones(n_rows))]
        for fcols in per_factor:
            cols = [((a + ":" + b) if a else b, x * y) for a, x in cols for b, y in fcols]
        for nm, col in cols:
            blocks.append(np.asarray(col, dtype=float).ravel())
            names.append(nm)
    if not blocks:
        raise EconetError(f"the {what} formula '{formula.text}' has no terms")
    return np.column_stack(blocks), names


# ------------------------------------------------------------------------------------------- fitting


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class RealEstimate:
    """A probability on the real scale at covariates 0 (unmarked's backTransform), with SE and 95% CI."""

    estimate: float
    se: float
    lcl: float
    ucl: float
    logit: float
    logit_se: float

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "se": self.se, "lcl": self.lcl, "ucl": self.ucl,
                "logit": self.logit, "logit_se": self.logit_se}


@dataclass
class OccupancyFit:
    """A fitted single-season occupancy model: coefficients (logit scale), SEs, logLik, AIC, real values."""

    psi_formula: str
    p_formula: str
    psi_names: list[str]
    p_names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    loglik: float
    n_sites: int
    converged: bool
    scaled: bool
    sites_with_detection: int
    transforms: dict = field(default_factory=dict)

    @property
    def n_psi(self) -> int:
        return len(self.psi_names)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0, None))

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2 * len(self.coef)

    def _real(self, index: int) -> RealEstimate:
        b, s = float(self.coef[index]), float(self.se[index])
        est = float(_expit(np.array(b)))
        return RealEstimate(estimate=est, se=est * (1 - est) * s, lcl=float(_expit(np.array(b - Z95 * s))),
                            ucl=float(_expit(np.array(b + Z95 * s))), logit=b, logit_se=s)

    @property
    def psi(self) -> RealEstimate:
        """psi at all covariates 0 (backTransform of the intercept; needs an intercept in the formula)."""
        return self._real(0)

    @property
    def p(self) -> RealEstimate:
        """p at all covariates 0 (backTransform(linearComb(fit, c(1, 0, ...), 'det')))."""
        return self._real(self.n_psi)

    def predict(self, submodel: str, newdata: pd.DataFrame | Mapping[str, Any], level: float = 0.95) -> pd.DataFrame:
        """psi or p at given covariate values, as unmarked's predict(fit, type, newdata): Predicted, SE
        (delta method), lower and upper (logit-scale Wald interval back-transformed), plus the newdata.

        Covariates are given in their original units; scaling and factor levels are those of the fit.
        """
        from scipy.stats import norm
        if submodel not in ("psi", "state", "p", "det"):
            raise EconetError(f"submodel must be 'psi' or 'p', not '{submodel}'")
        is_psi = submodel in ("psi", "state")
        nd = pd.DataFrame(newdata).reset_index(drop=True)
        formula = parse_formula(self.psi_formula if is_psi else self.p_formula)
        spec = dict(self.transforms.get("psi" if is_psi else "p", {}))
        M, _ = design_matrix(formula, {c: nd[c].to_numpy() for c in nd.columns}, len(nd), self.scaled,
                             "psi" if is_psi else "p", spec)
        sl = slice(0, self.n_psi) if is_psi else slice(self.n_psi, len(self.coef))
        eta = M @ self.coef[sl]
        var = np.einsum("ij,jk,ik->i", M, self.vcov[sl, sl], M)
        sd = np.sqrt(np.clip(var, 0, None))
        z = norm.ppf(0.5 + level / 2)
        est = _expit(eta)
        out = pd.DataFrame({"Predicted": est, "SE": est * (1 - est) * sd, "lower": _expit(eta - z * sd),
                            "upper": _expit(eta + z * sd)})
        return pd.concat([out, nd], axis=1)

    def coefficients(self) -> list[dict[str, Any]]:
        """One row per coefficient: submodel, name, estimate, SE, z, P(>|z|) as unmarked prints them."""
        from scipy.stats import norm
        rows = []
        for i, (sub, name) in enumerate([("psi", n) for n in self.psi_names] + [("p", n) for n in self.p_names]):
            b, s = float(self.coef[i]), float(self.se[i])
            z = b / s if s > 0 else float("nan")
            rows.append({"submodel": sub, "name": name, "estimate": b, "se": s, "z": z,
                         "p_value": float(2 * norm.sf(abs(z))) if s > 0 else float("nan")})
        return rows

    def as_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints."""
        has_psi_int = self.psi_names and self.psi_names[0] == "(Intercept)"
        has_p_int = self.p_names and self.p_names[0] == "(Intercept)"
        return {
            "model": {"psi": self.psi_formula, "p": self.p_formula, "scaled_covariates": self.scaled},
            "psi": self.psi.as_dict() if has_psi_int else None,
            "p": self.p.as_dict() if has_p_int else None,
            "coefficients": self.coefficients(),
            "loglik": self.loglik,
            "aic": self.aic,
            "n_parameters": int(len(self.coef)),
            "n_sites": self.n_sites,
            "sites_with_detection": self.sites_with_detection,
            "converged": self.converged,
        }


def _site_variables(data: OccupancyData) -> dict[str, np.ndarray]:
    return {c: data.site_covs[c].to_numpy() for c in data.site_covs.columns}


def _obs_variables(data: OccupancyData) -> dict[str, np.ndarray]:
    """Observation-level variables, flattened site-major; site covariates are repeated over occasions."""
    m, j = data.y.shape
    out = {c: np.repeat(np.asarray(v), j) for c, v in _site_variables(data).items()}
    for c, arr in data.obs_covs.items():
        out[c] = np.asarray(arr).ravel()
    return out


def fit_occupancy(data: OccupancyData, psi: str = "~1", p: str = "~1", *, scale_covariates: bool = False,
                  starts: np.ndarray | None = None) -> OccupancyFit:
    """Maximum-likelihood single-season occupancy fit (MacKenzie et al. 2002), as unmarked's occu.

    Counts above 1 count as detections (unmarked truncates them to 1). Visits whose detection or
    detection covariates are missing drop out of the product, as in unmarked. SEs come from the inverse
    Hessian of the negative log-likelihood at the optimum.
    """
    from scipy.optimize import minimize

    y = np.where(np.isnan(data.y), np.nan, (data.y > 0).astype(float))
    m, j = y.shape
    fpsi, fp = parse_formula(psi), parse_formula(p)
    spec_psi: dict = {}
    spec_p: dict = {}
    X, xnames = design_matrix(fpsi, _site_variables(data), m, scale_covariates, "psi", spec_psi)
    V, vnames = design_matrix(fp, _obs_variables(data), m * j, scale_covariates, "p", spec_p)
    V = V.reshape(m, j, -1)
    missing = np.isnan(y) | np.isnan(V).any(axis=2)
    site_bad = np.isnan(X).any(axis=1)
    if site_bad.any():
        raise EconetError(f"{int(site_bad.sum())} site(s) have missing psi covariates "
                          f"(first: site '{data.sites[int(np.argmax(site_bad))]}')")
    keep_site = (~missing).any(axis=1)
    if not keep_site.any():
        raise EconetError("no site has a surveyed occasion")
    X, V, y, missing = X[keep_site], V[keep_site], y[keep_site], missing[keep_site]
    V = np.where(missing[..., None], 0.0, V)
    yy = np.where(missing, 0.0, y)
    obs = (~missing).astype(float)
    detected = (yy * obs).sum(axis=1) > 0
    nx = X.shape[1]

    def negll_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, a = theta[:nx], theta[nx:]
        eta_psi = X @ b
        eta_p = V @ a
        # log q_i = sum_j obs * [y log p + (1-y) log(1-p)], computed stably
        logp = -np.logaddexp(0.0, -eta_p)
        log1mp = -np.logaddexp(0.0, eta_p)
        logq = (obs * (yy * logp + (1 - yy) * log1mp)).sum(axis=1)
        logpsi = -np.logaddexp(0.0, -eta_psi)
        log1mpsi = -np.logaddexp(0.0, eta_psi)
        lA = logpsi + logq
        lB = np.where(detected, -np.inf, log1mpsi)
        logL = np.logaddexp(lA, lB)
        wA = np.exp(lA - logL)  # posterior probability the site is occupied
        psi_v = np.exp(logpsi)
        # d logL / d eta_psi = wA - psi  (works whether detected or not)
        g_b = X.T @ (wA - psi_v)
        pv = np.exp(logp)
        g_a = np.einsum("ijk,ij->k", V, obs * (yy - pv) * wA[:, None])
        return -float(logL.sum()), -np.concatenate([g_b, g_a])

    theta0 = np.zeros(nx + V.shape[2]) if starts is None else np.asarray(starts, float)
    res = minimize(negll_grad, theta0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    theta = res.x
    # Hessian by central differences of the analytic gradient
    k = theta.size
    H = np.zeros((k, k))
    for i in range(k):
        h = 1e-5 * max(1.0, abs(theta[i]))
        e = np.zeros(k)
        e[i] = h
        H[:, i] = (negll_grad(theta + e)[1] - negll_grad(theta - e)[1]) / (2 * h)
    H = 0.5 * (H + H.T)
    try:
        vcov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        vcov = np.full((k, k), np.nan)
    return OccupancyFit(psi_formula=fpsi.text, p_formula=fp.text, psi_names=xnames, p_names=vnames,
                        coef=theta, vcov=vcov, loglik=-float(res.fun), n_sites=int(keep_site.sum()),
                        converged=bool(res.success or np.max(np.abs(res.jac)) < 1e-4),
                        scaled=scale_covariates, sites_with_detection=int(detected.sum()),
                        transforms={"psi": spec_psi, "p": spec_p})


# ------------------------------------------------------------------- histories from camera deployments


def detection_history(deployments: pd.DataFrame, detections: pd.DataFrame, occasion_days: float, *,
                      site: str = "site", start: str = "start", end: str = "end", timestamp: str = "timestamp",
                      origin: Any = None, min_effort_days: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detection histories (sites x occasions: 1, 0 or NaN) from camera deployments and detections.

    Occasions are consecutive windows of ``occasion_days`` starting at ``origin`` (default: the earliest
    deployment start). An occasion counts as surveyed at a site when the site's deployments cover more
    than ``min_effort_days`` of it; otherwise it is NaN (not surveyed). Detections outside any deployment
    are ignored. Returns (history, effort in days), both indexed by site with columns 1..K.
    """
    if occasion_days <= 0:
        raise EconetError("the occasion length must be positive (days)")
    for c in (site, start, end):
        if c not in deployments.columns:
            raise EconetError(f"deployments have no column '{c}'")
    for c in (site, timestamp):
        if c not in detections.columns:
            raise EconetError(f"detections have no column '{c}'")
    dep = deployments[[site, start, end]].copy()
    dep[site] = dep[site].astype(str)
    dep[start] = pd.to_datetime(dep[start], utc=True, errors="coerce")
    dep[end] = pd.to_datetime(dep[end], utc=True, errors="coerce")
    bad = dep[dep[start].isna() | dep[end].isna() | (dep[end] < dep[start])]
    if len(bad):
        raise EconetError("deployment with a missing or reversed start/end", row=int(bad.index[0]) + 2,
                          field=start)
    det = detections[[site, timestamp]].copy()
    det[site] = det[site].astype(str)
    det[timestamp] = pd.to_datetime(det[timestamp], utc=True, errors="coerce")
    if det[timestamp].isna().any():
        raise EconetError("detection with an unreadable timestamp", row=int(det[det[timestamp].isna()].index[0]) + 2,
                          field=timestamp)
    t0 = pd.Timestamp(origin, tz="UTC") if origin is not None and pd.Timestamp(origin).tzinfo is None else (
        pd.Timestamp(origin) if origin is not None else dep[start].min())
    length = pd.Timedelta(days=occasion_days)
    k = int(math.ceil((dep[end].max() - t0) / length)) if dep[end].max() > t0 else 1
    k = max(k, 1)
    sites = list(dict.fromkeys(dep[site]))
    effort = np.zeros((len(sites), k))
    hits = np.zeros((len(sites), k))
    index = {s: i for i, s in enumerate(sites)}
    for s, a, b in dep.itertuples(index=False):
        i = index[s]
        for occ in range(k):
            o0 = t0 + occ * length
            o1 = o0 + length
            overlap = (min(b, o1) - max(a, o0)) / pd.Timedelta(days=1)
            if overlap > 0:
                effort[i, occ] += overlap
    for s, t in det.itertuples(index=False):
        if s not in index:
            continue
        i = index[s]
        covered = ((dep[site] == s) & (dep[start] <= t) & (dep[end] >= t)).any()
        if not covered:
            continue
        occ = int((t - t0) // length)
        if 0 <= occ < k:
            hits[i, occ] = 1
    hist = np.where(effort > min_effort_days, hits, np.nan)
    cols = list(range(1, k + 1))
    return (pd.DataFrame(hist, index=pd.Index(sites, name=site), columns=cols),
            pd.DataFrame(effort, index=pd.Index(sites, name=site), columns=cols))


def history_to_wide(history: pd.DataFrame, site_covs: pd.DataFrame | None = None) -> pd.DataFrame:
    """A history table written in unmarked's wide CSV form: site, y.1..y.K (NA = not surveyed), covariates."""
    out = pd.DataFrame({"site": history.index.astype(str)})
    for c in history.columns:
        out[f"y.{c}"] = history[c].to_numpy()
    if site_covs is not None:
        out = out.join(site_covs.reset_index(drop=True))
    return out
