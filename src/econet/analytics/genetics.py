"""Population genetics for monitoring: diversity and differentiation (as hierfstat), probability of
identity (Waits et al. 2001) and individual identification from multilocus genotypes (as allelematch).

Input everywhere is the long genotype table of :mod:`econet.hub.ingest.genotypes` (columns sample,
population, locus, allele1, allele2; missing alleles None). Pure code: tables in, tables out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from econet.errors import EconetError

# ------------------------------------------------------------------------------------ representation


@dataclass
class GenotypeArray:
    """Genotypes as integer allele indices: ``alleles[i, l, 0:2]`` (-1 = missing) for sample i, locus l."""

    samples: list[str]
    populations: list[str]          # one per sample
    loci: list[str]
    allele_names: list[list[str]]   # per locus, index -> allele name
    alleles: np.ndarray             # (n, L, 2) int

    @property
    def pop_levels(self) -> list[str]:
        return list(dict.fromkeys(self.populations))

    @property
    def pop_index(self) -> np.ndarray:
        lv = {p: k for k, p in enumerate(self.pop_levels)}
        return np.array([lv[p] for p in self.populations], dtype=int)

    def typed(self) -> np.ndarray:
        """(n, L) True where both alleles are known (a genotype with one allele missing counts as missing)."""
        return (self.alleles >= 0).all(axis=2)


def _sort_key(a: str):
    try:
        return (0, float(a), a)
    except ValueError:
        return (1, 0.0, a)


def genotype_array(table: pd.DataFrame) -> GenotypeArray:
    """Build the array form from the long table (sample order and population order as first seen)."""
    need = {"sample", "population", "locus", "allele1", "allele2"}
    if not need <= set(table.columns):
        raise EconetError(f"genotype table needs columns {sorted(need)}; has {list(table.columns)}")
    if table.empty:
        raise EconetError("no genotypes")
    t = table.copy()
    t["sample"] = t["sample"].astype(str)
    samples = list(dict.fromkeys(t["sample"]))
    pop_of = t.groupby("sample", sort=False)["population"].first().astype(str)
    loci = list(dict.fromkeys(t["locus"].astype(str)))
    sidx = {s: i for i, s in enumerate(samples)}
    lidx = {loc: j for j, loc in enumerate(loci)}
    arr = np.full((len(samples), len(loci), 2), -1, dtype=int)
    names: list[list[str]] = []
    for j, loc in enumerate(loci):
        sub = t[t["locus"].astype(str) == loc]
        vals = [v for v in pd.concat([sub["allele1"], sub["allele2"]]) if v is not None and not _isnan(v)]
        names.append(sorted({str(v) for v in vals}, key=_sort_key))
    amap = [{a: k for k, a in enumerate(nm)} for nm in names]
    for s, loc, a1, a2 in t[["sample", "locus", "allele1", "allele2"]].itertuples(index=False, name=None):
        i, j = sidx[s], lidx[str(loc)]
        for c, a in enumerate((a1, a2)):
            if a is not None and not _isnan(a):
                arr[i, j, c] = amap[j][str(a)]
    return GenotypeArray(samples, [str(pop_of[s]) for s in samples], loci, names, arr)


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _counts(g: GenotypeArray, j: int, members: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Allele counts at locus j among typed members, number typed, heterozygote flags of the typed."""
    al = g.alleles[members, j, :]
    ok = (al >= 0).all(axis=1)
    al = al[ok]
    k = len(g.allele_names[j])
    counts = np.bincount(al.ravel(), minlength=k).astype(float) if len(al) else np.zeros(k)
    return counts, int(ok.sum()), al[:, 0] != al[:, 1]


# ------------------------------------------------------------------------------- hierfstat basic.stats


@dataclass
class BasicStats:
    """hierfstat basic.stats: per locus and overall Ho, Hs, Ht, Dst, Htp, Dstp, Fst, Fstp, Fis, Dest;
    per population and locus sample sizes, Ho, Hs and Fis."""

    perloc: pd.DataFrame
    overall: pd.Series
    n_ind: pd.DataFrame
    Ho: pd.DataFrame
    Hs: pd.DataFrame
    Fis: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        def clean(x):
            return None if x is None or not np.isfinite(x) else float(x)
        return {
            "overall": {k: clean(v) for k, v in self.overall.items()},
            "per_locus": {loc: {k: clean(v) for k, v in row.items()} for loc, row in self.perloc.iterrows()},
            "per_population": {
                pop: {"n": {loc: clean(self.n_ind.at[loc, pop]) for loc in self.n_ind.index},
                      "Ho": clean(np.nanmean(self.Ho[pop].to_numpy(dtype=float))) if self.Ho[pop].notna().any() else None,
                      "Hs": clean(np.nanmean(self.Hs[pop].replace([np.inf, -np.inf], np.nan).to_numpy(dtype=float)))
                      if self.Hs[pop].notna().any() else None}
                for pop in self.Ho.columns},
        }


STAT_NAMES = ["Ho", "Hs", "Ht", "Dst", "Htp", "Dstp", "Fst", "Fstp", "Fis", "Dest"]


def basic_stats(table: pd.DataFrame | GenotypeArray) -> BasicStats:
    """Nei (1987) gene diversities and F-statistics with hierfstat's sample-size corrections.

    Per population: Hs = n/(n-1) (1 - sum p^2 - Ho/2n). Per locus, over the np populations typed there
    with harmonic mean size n~: Hs = n~/(n~-1)(1 - mean sum p^2 - Ho/2n~),
    Ht = 1 - sum pbar^2 + Hs/(n~ np) - Ho/(2 n~ np) (pbar unweighted mean over populations),
    Dst = Ht - Hs, Fst = Dst/Ht, Fis = 1 - Ho/Hs, Dst' = np/(np-1) Dst, Ht' = Hs + Dst'. Overall values
    are means over loci, with Fst, Fst', Fis and Dest recomputed from those means, as hierfstat does.
    """
    g = table if isinstance(table, GenotypeArray) else genotype_array(table)
    pops = g.pop_levels
    pidx = g.pop_index
    L, P = len(g.loci), len(pops)
    n = np.full((L, P), np.nan)
    sHo = np.full((L, P), np.nan)
    sp2 = np.full((L, P), np.nan)
    per = np.full((L, len(STAT_NAMES)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(L):
            freqs = []
            for k in range(P):
                counts, nk, het = _counts(g, j, np.flatnonzero(pidx == k))
                if nk == 0:
                    continue
                n[j, k] = nk
                sHo[j, k] = het.mean()
                p = counts / (2 * nk)
                sp2[j, k] = (p ** 2).sum()
                freqs.append(p)
            ok = ~np.isnan(n[j])
            npop = ok.sum()
            if npop == 0:
                continue
            mn = npop / np.sum(1.0 / n[j, ok])
            mHo = np.nanmean(sHo[j])
            msp2 = np.nanmean(sp2[j])
            mp2 = (np.mean(freqs, axis=0) ** 2).sum()
            mHs = mn / (mn - 1) * (1 - msp2 - mHo / 2 / mn)
            Ht = 1 - mp2 + mHs / mn / npop - mHo / 2 / mn / npop
            Dst = Ht - mHs
            Dstp = npop / (npop - 1) * Dst if npop > 1 else np.nan
            Htp = mHs + Dstp
            per[j] = [mHo, mHs, Ht, Dst, Htp, Dstp, Dst / Ht, Dstp / Htp, 1 - mHo / mHs, Dstp / (1 - mHs)]
        per[~np.isfinite(per)] = np.nan
        Hs = n / (n - 1) * (1 - sp2 - sHo / 2 / n)
        Fis = 1 - sHo / Hs
    perloc = pd.DataFrame(per, index=g.loci, columns=STAT_NAMES)
    ov = perloc.mean(axis=0, skipna=True)
    ov["Fst"] = ov["Dst"] / ov["Ht"]
    ov["Fstp"] = ov["Dstp"] / ov["Htp"]
    ov["Fis"] = 1 - ov["Ho"] / ov["Hs"]
    ov["Dest"] = ov["Dstp"] / (1 - ov["Hs"])
    frame = lambda a: pd.DataFrame(a, index=g.loci, columns=pops)  # noqa: E731
    return BasicStats(perloc=perloc, overall=ov, n_ind=frame(n), Ho=frame(sHo), Hs=frame(Hs), Fis=frame(Fis))


# ----------------------------------------------------------------------------- Weir & Cockerham 1984


@dataclass
class WCResult:
    """Weir & Cockerham (1984) variance components and F-statistics, per locus and over loci."""

    per_locus: pd.DataFrame   # columns siga, sigb, sigw, Fst, Fis, Fit
    FST: float
    FIS: float
    FIT: float

    def as_dict(self) -> dict[str, Any]:
        fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
        return {"Fst": fin(self.FST), "Fis": fin(self.FIS), "Fit": fin(self.FIT),
                "per_locus": {loc: {k: (None if not np.isfinite(v) else float(v)) for k, v in row.items()}
                              for loc, row in self.per_locus.iterrows()}}


def weir_cockerham(table: pd.DataFrame | GenotypeArray) -> WCResult:
    """theta (Fst), f (Fis) and F (Fit) from the analysis of variance of allele indicators
    (Weir & Cockerham 1984; Weir 1996), computed per allele and summed over alleles and loci, as
    hierfstat's wc(): sigma_w = MSG, sigma_b = (MSI - MSG)/2, sigma_a = (MSP - MSI)/(2 n_c)."""
    g = table if isinstance(table, GenotypeArray) else genotype_array(table)
    pidx = g.pop_index
    P = len(g.pop_levels)
    rows = []
    for j in range(len(g.loci)):
        ok = (g.alleles[:, j, :] >= 0).all(axis=1)
        al = g.alleles[ok, j, :]
        pk = pidx[ok]
        nk = np.bincount(pk, minlength=P).astype(float)
        typed = nk > 0
        npl = typed.sum()
        nt = nk.sum()
        if nt == 0 or npl < 2:
            rows.append((0.0, 0.0, 0.0))
            continue
        nc = (nt - (nk[typed] ** 2).sum() / nt) / (npl - 1)
        K = len(g.allele_names[j])
        cnt = np.zeros((P, K))
        het = np.zeros((P, K))
        for a in range(K):
            c = (al == a).sum(axis=1)
            np.add.at(cnt[:, a], pk, c)
            np.add.at(het[:, a], pk, (c == 1).astype(float))
        nkk = nk[typed][:, None]
        p = cnt[typed] / (2 * nkk)
        pb = cnt.sum(axis=0) / (2 * nt)
        hom = (2 * nkk * p - het[typed]) / 2
        SSG = (nkk * p - hom).sum(axis=0)
        SSi = (nkk * (p - 2 * p ** 2) + hom).sum(axis=0)
        SSP = 2 * (nkk * (p - pb) ** 2).sum(axis=0)
        MSG = SSG / nt
        MSP = SSP / (npl - 1)
        MSI = SSi / (nt - npl)
        sigw = MSG
        sigb = 0.5 * (MSI - MSG)
        siga = (MSP - MSI) / (2 * nc)
        rows.append((siga.sum(), sigb.sum(), sigw.sum()))
    comp = np.array(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        tot = comp.sum(axis=1)
        df = pd.DataFrame({"siga": comp[:, 0], "sigb": comp[:, 1], "sigw": comp[:, 2],
                           "Fst": comp[:, 0] / tot, "Fis": comp[:, 1] / (comp[:, 1] + comp[:, 2]),
                           "Fit": (comp[:, 0] + comp[:, 1]) / tot}, index=g.loci)
    a, b, w = comp.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return WCResult(per_locus=df, FST=float(np.divide(a, a + b + w)), FIS=float(np.divide(b, b + w)),
                        FIT=float(np.divide(a + b, a + b + w)))


# ------------------------------------------------------------------------------------ allelic richness


@dataclass
class AllelicRichness:
    """Rarefied allelic richness per locus and population (and of the pooled sample), at ``min_alleles``."""

    min_alleles: int
    per_population: pd.DataFrame
    pooled: pd.Series

    def as_dict(self) -> dict[str, Any]:
        return {"rarefied_to_alleles": self.min_alleles,
                "per_population": {p: {loc: (None if pd.isna(v) else float(v)) for loc, v in col.items()}
                                   for p, col in self.per_population.items()},
                "pooled": {loc: (None if pd.isna(v) else float(v)) for loc, v in self.pooled.items()},
                "mean_per_population": {p: (None if pd.isna(col.mean()) else float(col.mean()))
                                        for p, col in self.per_population.items()}}


def _rarefy(counts: np.ndarray, g: int) -> float:
    """El Mousadik & Petit (1996): expected number of distinct alleles in a subsample of g genes."""
    from scipy.special import gammaln
    N = counts.sum()
    if N < g:
        return float("nan")
    total = 0.0
    for c in counts[counts > 0]:
        if N - c < g:
            total += 1.0
        else:
            total += 1.0 - np.exp(gammaln(N - c + 1) - gammaln(N - c - g + 1) - gammaln(N + 1) + gammaln(N - g + 1))
    return total


def allelic_richness(table: pd.DataFrame | GenotypeArray, min_alleles: int | None = None) -> AllelicRichness:
    """Allelic richness rarefied to the smallest sample (2 x the fewest individuals typed at any locus in
    any population), as hierfstat's allelic.richness and FSTAT (El Mousadik & Petit 1996)."""
    g = table if isinstance(table, GenotypeArray) else genotype_array(table)
    pops = g.pop_levels
    pidx = g.pop_index
    L, P = len(g.loci), len(pops)
    counts = [[_counts(g, j, np.flatnonzero(pidx == k)) for k in range(P)] for j in range(L)]
    if min_alleles is None:
        sizes = [c[1] for row in counts for c in row if c[1] > 0]
        if not sizes:
            raise EconetError("no typed genotypes")
        min_alleles = 2 * min(sizes)
    ar = np.full((L, P), np.nan)
    pooled = np.full(L, np.nan)
    for j in range(L):
        for k in range(P):
            c, nk, _ = counts[j][k]
            if nk > 0:
                ar[j, k] = _rarefy(c, min_alleles)
        pooled[j] = _rarefy(np.sum([counts[j][k][0] for k in range(P)], axis=0), min_alleles)
    return AllelicRichness(min_alleles, pd.DataFrame(ar, index=g.loci, columns=pops), pd.Series(pooled, index=g.loci))


# ------------------------------------------------------------------------------- probability of identity


def probability_of_identity(table: pd.DataFrame | GenotypeArray) -> pd.DataFrame:
    """PID and PIDsib per locus and cumulated over loci (Waits et al. 2001), from the allele frequencies
    of all typed individuals: PID = sum p^4 + sum_{i<j} (2 p_i p_j)^2,
    PIDsib = 0.25 + 0.5 sum p^2 + 0.5 (sum p^2)^2 - 0.25 sum p^4. Cumulative products are taken with loci
    ordered from the most to the least informative (smallest PID first), the usual presentation."""
    g = table if isinstance(table, GenotypeArray) else genotype_array(table)
    rows = []
    for j, loc in enumerate(g.loci):
        counts, nk, _ = _counts(g, j, np.arange(len(g.samples)))
        if nk == 0:
            continue
        p = counts / counts.sum()
        a2, a4 = (p ** 2).sum(), (p ** 4).sum()
        pid = a4 + (a2 ** 2 - a4) * 2  # sum_{i<j} 4 p_i^2 p_j^2 = 2 (a2^2 - a4)
        pidsib = 0.25 + 0.5 * a2 + 0.5 * a2 ** 2 - 0.25 * a4
        rows.append({"locus": loc, "n": nk, "alleles": int((counts > 0).sum()), "He": 1 - a2,
                     "PID": pid, "PIDsib": pidsib})
    df = pd.DataFrame(rows).sort_values("PID", kind="stable").reset_index(drop=True)
    df["PID_cumulative"] = df["PID"].cumprod()
    df["PIDsib_cumulative"] = df["PIDsib"].cumprod()
    return df


# ------------------------------------------------------------------- individual identification (matching)


@dataclass
class MatchResult:
    """allelematch-style identification: unique genotypes, matches, multiple matches, unclassified."""

    allele_mismatch: float
    match_threshold: float
    unique: list[str]                         # representative sample of each unique genotype
    matches: dict[str, list[str]]             # unique -> samples matching it (score >= threshold)
    assignment: dict[str, list[str]]          # sample -> unique genotypes it matches
    unclassified: list[str]
    multiple_match: list[str]
    runs: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allele_mismatch": self.allele_mismatch,
            "match_threshold": self.match_threshold,
            "n_samples": len(self.assignment),
            "n_unique": len(self.unique),
            "n_unclassified": len(self.unclassified),
            "n_multiple_match": len(self.multiple_match),
            "unique": [{"individual": u, "samples": self.matches[u],
                        "scores": [self.scores.get(u, {}).get(s) for s in self.matches[u]]} for u in self.unique],
            "assignments": [{"sample": s, "individual": (a[0] if len(a) == 1 else None),
                             "status": ("unique" if s in self.matches else "unclassified" if not a
                                        else "multiple_match" if len(a) > 1 else "match"),
                             "matches": a} for s, a in self.assignment.items()],
            "unclassified": self.unclassified,
            "multiple_match": self.multiple_match,
        }


def allele_matrix(table: pd.DataFrame) -> tuple[list[str], np.ndarray, list[str]]:
    """Samples, the (samples x 2*loci) matrix of allele names (None = missing), column names — the
    row-vector layout allelematch compares."""
    g = genotype_array(table)
    n, L = len(g.samples), len(g.loci)
    mat = np.empty((n, 2 * L), dtype=object)
    for j in range(L):
        for c in range(2):
            idx = g.alleles[:, j, c]
            mat[:, 2 * j + c] = [g.allele_names[j][k] if k >= 0 else None for k in idx]
    cols = [f"{loc}{s}" for loc in g.loci for s in ("a", "b")]
    return g.samples, mat, cols


def _encode(matrix: np.ndarray) -> np.ndarray:
    """Allele names -> integer codes per column (-1 = missing), so comparisons are fast."""
    X = np.asarray(matrix, dtype=object)
    out = np.full(X.shape, -1, dtype=np.int32)
    for c in range(X.shape[1]):
        codes: dict[str, int] = {}
        for r, v in enumerate(X[:, c]):
            if v is None or _isnan(v) or (isinstance(v, str) and v.strip() == ""):
                continue
            out[r, c] = codes.setdefault(str(v), len(codes))
    return out


def _mismatch_units(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """n*(1 - s) for all pairs of coded rows: mismatching alleles + half of each missing allele
    (allelematch eq. 1, as amMatrix computes it: a column missing in both rows counts 1/2 + 1/2)."""
    am, bm = a < 0, b < 0
    ncol = a.shape[1]
    match = np.zeros((a.shape[0], b.shape[0]))
    for c in range(ncol):
        match += (a[:, c][:, None] == b[:, c][None, :]) & ~am[:, c][:, None]
    sim = match + 0.5 * am.sum(axis=1)[:, None] + 0.5 * bm.sum(axis=1)[None, :]
    return ncol - sim


def _index_order(labels: Sequence[str]) -> list[int]:
    try:
        keys = [float(x) for x in labels]
        return sorted(range(len(labels)), key=lambda i: keys[i])
    except ValueError:
        return sorted(range(len(labels)), key=lambda i: labels[i])


def match_genotypes(samples: Sequence[str], matrix: np.ndarray, allele_mismatch: float,
                    method: str = "hybrid") -> MatchResult:
    """Identify unique individuals as allelematch's amUnique (Galpern et al. 2012) does.

    Samples are the same individual when mismatching alleles + missing alleles / 2 <= ``allele_mismatch``
    (m-hat). The dissimilarities 1 - s are clustered by complete linkage (in R's hclust merge order) and
    the tree is cut at d = m-hat / n with the hybrid dynamic tree cut (``method="hybrid"``, allelematch's
    cutreeHybrid settings) or statically (``method="static"``: every group within m-hat of each other).
    Each cluster is represented by its first sample (allelematch's consensusMethod 1), and clustering
    repeats on the representatives until only singletons remain: the unique genotypes. Every sample is
    then compared with them: it matches those with s >= 1 - m-hat / n; samples matching none are
    'unclassified', samples matching several 'multiple matches'.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if method not in ("hybrid", "static"):
        raise EconetError(f"method must be 'hybrid' or 'static', not '{method}'")
    samples = [str(s) for s in samples]
    if len(set(samples)) != len(samples):
        raise EconetError("sample identifiers must be unique")
    X = _encode(matrix)
    ncol = X.shape[1]
    if ncol < 3:
        raise EconetError("at least three allele columns are needed")
    if allele_mismatch < 0:
        raise EconetError("the allowed number of mismatching alleles must be >= 0")
    # the same floating-point expressions as allelematch, so ties at the threshold fall the same way
    match_threshold = 1 - (allele_mismatch / ncol)
    cut_height = 1 - match_threshold
    if match_threshold == 1 and cut_height == 0:
        cut_height = 0.00001
    current = list(range(len(samples)))
    runs = 0
    while True:
        runs += 1
        if len(current) == 1:
            break
        D = 1 - ((ncol - _mismatch_units(X[current], X[current])) / ncol)
        np.fill_diagonal(D, 0.0)
        if method == "hybrid":
            labels = hybrid_tree_cut(D, cut_height)
        else:
            Z = linkage(squareform(D, checks=False), method="complete")
            labels = fcluster(Z, t=cut_height, criterion="distance")
        reps, clustered = [], False
        for lab in dict.fromkeys(labels):
            members = [current[i] for i in np.flatnonzero(labels == lab)]
            if method == "hybrid" and lab == 0:
                reps.extend(members)  # unassigned: singletons
                continue
            if len(members) > 1:
                clustered = True
            reps.append(members[0])
        order = _index_order([samples[i] for i in reps])
        current = [reps[i] for i in order]
        if not clustered:
            break
    unique = [samples[i] for i in current]
    D = _mismatch_units(X[current], X)
    matches: dict[str, list[str]] = {}
    scores: dict[str, dict[str, float]] = {}
    assignment: dict[str, list[str]] = {s: [] for s in samples}
    for r, u in enumerate(unique):
        score = (ncol - D[r]) / ncol
        hit = np.flatnonzero(score >= match_threshold)
        hit = sorted(hit, key=lambda i: (-score[i], i))
        matches[u] = [samples[i] for i in hit]
        scores[u] = {samples[i]: float(score[i]) for i in hit}
        for i in hit:
            assignment[samples[i]].append(u)
    in_any = {s for u in unique for s in matches[u]} | set(unique)
    unclassified = [s for s in samples if s not in in_any]
    multiple = [s for s in samples if len(assignment[s]) > 1]
    return MatchResult(allele_mismatch=allele_mismatch, match_threshold=match_threshold,
                       unique=unique, matches=matches, assignment=assignment, unclassified=unclassified,
                       multiple_match=multiple, runs=runs, scores=scores)


def match_individuals(table: pd.DataFrame, allele_mismatch: float, method: str = "hybrid") -> MatchResult:
    """match_genotypes on the long genotype table (two allele columns per locus)."""
    samples, mat, _ = allele_matrix(table)
    return match_genotypes(samples, mat, allele_mismatch, method)


def match_profile(samples: Sequence[str], matrix: np.ndarray, allele_mismatch: Sequence[float] | None = None,
                  method: str = "hybrid") -> tuple[pd.DataFrame, dict[str, Any]]:
    """allelematch's amUniqueProfile: unique / unclassified / multiple-match counts over a range of m-hat
    (default 0 .. 40% of the allele columns) and its guess of the optimal m-hat and profile morphology."""
    ncol = np.asarray(matrix).shape[1]
    if allele_mismatch is None:
        allele_mismatch = list(np.arange(0, np.floor(ncol * 0.4) + 1e-9, 1.0))
    rows = []
    for m in allele_mismatch:
        r = match_genotypes(samples, matrix, float(m), method)
        rows.append({"allele_mismatch": float(m), "match_threshold": 1 - m / ncol, "samples": len(samples),
                     "unique": len(r.unique), "unclassified": len(r.unclassified),
                     "multiple_match": len(r.multiple_match)})
    prof = pd.DataFrame(rows).sort_values("match_threshold", ascending=False).reset_index(drop=True)
    mm = prof["multiple_match"].to_numpy()
    i = 0
    while True:
        i += 1
        minimum = int(np.argmin(mm[i - 1:])) + (i - 1)
        slope = 0 if minimum == 0 else mm[minimum] - mm[minimum - 1]
        if slope < 0 or minimum == len(mm) - 1:
            break
    second = minimum
    lead = 0
    while lead < len(mm) and mm[lead] == 0:
        lead += 1
    if lead == len(mm):
        morph = "ZeroFlat"
    elif (mm[lead:] == 0).sum() == 0:
        morph = "NoSecondMinimum" if second == len(mm) - 1 else "NonZeroSecondMinimum"
    else:
        morph = "ZeroSecondMinimum"
    if morph in ("ZeroFlat", "NoSecondMinimum") and len(prof) > 2:
        u = prof["unique"].to_numpy(dtype=float)
        slopes = [abs((u[x - 1] - u[x + 1]) / 2) for x in range(1, len(u) - 1)]
        guess = int(np.argmin(slopes)) + 1
    else:
        guess = second
    return prof, {"allele_mismatch": float(prof["allele_mismatch"][guess]), "morphology": morph}


# --------------------------------------------------------------- tree building and cutting as allelematch


def hclust_complete(D: np.ndarray) -> tuple[list[tuple[tuple[str, int], tuple[str, int]]], np.ndarray]:
    """Complete-linkage agglomeration in the order R's hclust() performs it (Murtagh's nearest-neighbour
    list algorithm; among equal dissimilarities the first pair in index order merges first). Genotype
    dissimilarities are full of ties, and which tied pair merges first changes the tree, so this order
    matters to reproduce allelematch. Returns the merges as R's ``merge`` rows (("leaf", i) or
    ("node", step), a leaf before a node, smaller first) and the merge heights."""
    D = np.array(D, dtype=float)
    n = D.shape[0]
    flag = np.ones(n, bool)
    nn = np.zeros(n, dtype=int)
    disnn = np.full(n, np.inf)
    for i in range(n - 1):
        j = int(np.argmin(D[i, i + 1:]))
        nn[i], disnn[i] = i + 1 + j, D[i, i + 1 + j]
    owner: list[tuple[str, int]] = [("leaf", i) for i in range(n)]
    merges, heights = [], []
    for step in range(n - 1):
        cand = np.where(flag[:n - 1], disnn[:n - 1], np.inf)
        im = int(np.argmin(cand))
        dmin, jm = cand[im], int(nn[im])
        i2, j2 = min(im, jm), max(im, jm)
        a, b = owner[i2], owner[j2]
        if a[0] == "node" and b[0] == "leaf":
            a, b = b, a
        elif a[0] == b[0] and a[1] > b[1]:
            a, b = b, a
        merges.append((a, b))
        heights.append(dmin)
        owner[i2] = ("node", step)
        flag[j2] = False
        others = np.flatnonzero(flag)
        others = others[others != i2]
        newd = np.maximum(D[i2, others], D[j2, others])
        D[i2, others] = newd
        D[others, i2] = newd
        later = others[others > i2]
        if len(later):
            k = int(np.argmin(D[i2, later]))
            nn[i2], disnn[i2] = later[k], D[i2, later[k]]
        else:
            disnn[i2] = np.inf
        for i in np.flatnonzero(flag[:n - 1] & ((nn[:n - 1] == i2) | (nn[:n - 1] == j2))):
            if i == i2:
                continue
            js = np.flatnonzero(flag)
            js = js[js > i]
            if len(js):
                k = int(np.argmin(D[i, js]))
                nn[i], disnn[i] = js[k], D[i, js[k]]
            else:
                disnn[i] = np.inf
    return merges, np.array(heights)


_DEFAULT_CORE_SCATTER = (0.64, 0.73, 0.82, 0.91, 0.95)


def _core_scatter(D: np.ndarray, singles: list[int], min_cluster_size: int) -> float:
    """Mean within-core dissimilarity of a branch; the core is its first-joined objects."""
    size = len(singles)
    base = min_cluster_size / 2 + 1
    core_size = int(base + np.sqrt(size - base)) if base < size else size
    core = singles[:core_size]
    if core_size < 2:
        return 0.0
    return float(np.mean(D[np.ix_(core, core)].sum(axis=0) / (core_size - 1)))


def hybrid_tree_cut(D: np.ndarray, cut_height: float, *, deep_split: int = 1, min_cluster_size: int = 1,
                    merges=None, heights=None) -> np.ndarray:
    """Cluster labels (0 = unassigned) from the hybrid dynamic tree cut of Langfelder, Zhang & Horvath
    (2008) with the settings allelematch uses (minClusterSize 1, deepSplit 1, PAM stage respecting the
    dendrogram, assignment by average dissimilarity up to the cut height).

    Branches below the cut grow by merging; two branches stay separate clusters when each has a tight
    core (mean core dissimilarity below a fraction of the cut height) separated by a gap from the merge
    height; otherwise they merge. Objects outside any cluster are then assigned to the cluster of the
    same static branch with the smallest average dissimilarity, if that is within the cut height.
    """
    n = D.shape[0]
    if merges is None:
        merges, heights = hclust_complete(D)
    heights = np.asarray(heights, dtype=float)
    labels = np.zeros(n, dtype=int)
    if n < 2:
        return labels
    nmerge = n - 1
    ref_merge = max(int(round(nmerge * 0.05)), 1)
    ref_height = heights[ref_merge - 1]
    cut = min(cut_height, heights.max())
    if (heights <= cut).sum() < min_cluster_size:
        return labels
    mcs = _DEFAULT_CORE_SCATTER[deep_split]
    max_abs_core = ref_height + mcs * (cut - ref_height)
    min_abs_gap = (1 - mcs) * 3 / 4 * (cut - ref_height)
    min_abs_split = ref_height
    branches: list[dict] = []
    node_branch: dict[int, int] = {}

    def failing(c: int, h: float) -> tuple[bool, bool]:
        br = branches[c]
        if not br["basic"]:
            return False, False
        sc = _core_scatter(D, br["singles"], min_cluster_size)
        crit = (br["size"] < min_cluster_size, sc > max_abs_core, h - sc < min_abs_gap, h < min_abs_split)
        return any(crit), not (crit[1] or crit[2])

    for s, ((ka, a), (kb, b)) in enumerate(merges):
        h = heights[s]
        if h > cut:
            continue
        if ka == "leaf" and kb == "leaf":
            branches.append({"basic": True, "top": True, "singles": [a, b], "size": 2, "attach": None})
            node_branch[s] = len(branches) - 1
        elif ka == "leaf" or kb == "leaf":
            c = node_branch[b]
            br = branches[c]
            if br["basic"]:
                br["singles"].append(a)
            br["size"] += 1
            node_branch[s] = c
        else:
            c1, c2 = node_branch[a], node_branch[b]
            small, large = (c2, c1) if branches[c2]["size"] < branches[c1]["size"] else (c1, c2)
            fail_small, _ = failing(small, h)
            if fail_small:
                merge = True
            else:
                fail_large, _ = failing(large, h)
                merge = fail_large
                if merge:
                    small, large = large, small
            bl, bs = branches[large], branches[small]
            if merge:
                if bl["basic"]:
                    bl["singles"] = bl["singles"] + bs["singles"]
                bs["top"] = False
                bl["size"] += bs["size"]
                node_branch[s] = large
            else:
                bl["attach"] = h
                bs["attach"] = h
                branches.append({"basic": False, "top": False, "singles": [], "size": bl["size"] + bs["size"],
                                 "attach": None})
                node_branch[s] = len(branches) - 1
    k = 0
    for br in branches:
        if not br["top"]:
            continue
        attach = br["attach"] if br["attach"] is not None else cut
        sc = _core_scatter(D, br["singles"], min_cluster_size)
        if br["size"] >= min_cluster_size and sc < max_abs_core and attach - sc > min_abs_gap:
            k += 1
            labels[br["singles"]] = k
    # PAM-like stage: unassigned objects join the nearest cluster (average dissimilarity) of their
    # static branch, if within the cut height
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    leaves_of: dict[int, list[int]] = {}
    for s, ((ka, a), (kb, b)) in enumerate(merges):
        la = [a] if ka == "leaf" else leaves_of[a]
        lb = [b] if kb == "leaf" else leaves_of[b]
        leaves_of[s] = la + lb
        if heights[s] <= cut:
            parent[find(la[0])] = find(lb[0])
    initial = labels.copy()
    members = {c: np.flatnonzero(initial == c) for c in range(1, k + 1)}
    for p in np.flatnonzero(initial == 0):
        best, best_d = 0, np.inf
        for c, m in members.items():
            if find(int(m[0])) != find(int(p)):
                continue
            d = float(D[p, m].mean())
            if d < best_d:
                best, best_d = c, d
        if best and best_d <= cut:
            labels[p] = best
    return labels
