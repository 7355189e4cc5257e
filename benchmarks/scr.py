"""Benchmark: SECR fit (100 traps, 60 animals, 5,000 mask points) vs a plain-loop likelihood.

Run: .venv/bin/python benchmarks/scr.py [--seed N]

The plain-loop implementation below evaluates exactly the same log-likelihood as
econet.analytics.scr with Python loops over mask points, animals, occasions and detectors (how a
first implementation would be written). A full fit with it is too slow to run, so the script times
one loop evaluation and multiplies by the number of evaluations the vectorised fit needed. The
tests (tests/analytics/test_scr.py) also use ``loglik_loop`` as an independent check of the
vectorised likelihood.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np


def _g(d2: float, a0: float, sigma: float, detectfn: str) -> float:
    """Per-occasion hazard at unit usage for one distance (squared distance d2)."""
    if detectfn == "HN":
        return -math.log1p(-a0 * math.exp(-d2 / (2 * sigma * sigma)))
    if detectfn == "EX":
        return -math.log1p(-a0 * math.exp(-math.sqrt(d2) / sigma))
    if detectfn == "HHN":
        return a0 * math.exp(-d2 / (2 * sigma * sigma))
    return a0 * math.exp(-math.sqrt(d2) / sigma)  # HEX


def loglik_loop(chs, masks, detector: str, detectfn: str, D: float, a0: float, sigma: float,
                likelihood: str = "full") -> float:
    """log L of the null SECR model by plain loops (multinomial coefficient excluded)."""
    total = 0.0
    for ch, mask in zip(chs, masks):
        K, S, n = len(ch.traps.ids), ch.n_occasions, ch.n
        usage = ch.traps.usage if ch.traps.usage is not None else np.ones((K, S))
        # detections per animal: {(occasion, trap): count}
        dets = [dict() for _ in range(n)]
        for i, s, k, c in zip(ch.ind, ch.occ, ch.trap, ch.count):
            dets[i][(s, k)] = dets[i].get((s, k), 0) + int(c)
        caught_occ = [dict() for _ in range(n)]
        for i in range(n):
            for (s, k) in dets[i]:
                caught_occ[i][s] = k
        pr_sum = [0.0] * n
        p_sum = 0.0
        for m in range(len(mask.xy)):
            mx, my = mask.xy[m]
            h = []
            for k in range(K):
                tx, ty = ch.traps.xy[k]
                h.append(_g((mx - tx) ** 2 + (my - ty) ** 2, a0, sigma, detectfn))
            Hs = [sum(h[k] * usage[k, s] for k in range(K)) for s in range(S)]
            p_sum += 1.0 - math.exp(-sum(Hs))
            for i in range(n):
                logp = 0.0
                for s in range(S):
                    if s > ch.dead[i]:
                        continue
                    if detector == "multi":
                        if s in caught_occ[i]:
                            k = caught_occ[i][s]
                            hk = h[k] * usage[k, s]
                            logp += math.log(-math.expm1(-Hs[s])) + math.log(hk) - math.log(Hs[s])
                        else:
                            logp -= Hs[s]
                    else:
                        for k in range(K):
                            lam = h[k] * usage[k, s]
                            c = dets[i].get((s, k), 0)
                            if detector == "proximity":
                                logp += math.log(-math.expm1(-lam)) if c else -lam
                            else:
                                logp += c * math.log(lam) - lam - math.lgamma(c + 1) if c else -lam
                pr_sum[i] += math.exp(logp)
        ll = sum(math.log(v) for v in pr_sum) - n * math.log(p_sum)
        if likelihood == "full":
            lam = D * p_sum * mask.cell_area_ha
            ll += n * math.log(lam) - lam - math.lgamma(n + 1)
        total += ll
    return total


def simulate(seed: int = 1, n_target: int = 60, nx: int = 10, spacing: float = 30.0,
             n_occasions: int = 5, g0: float = 0.2, sigma: float = 25.0):
    """A 10 x 10 multi-catch trap grid and about 60 detected animals (rejection to exactly 60)."""
    from econet.analytics.scr import CaptureHistory, Traps, make_mask
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(nx) * spacing, np.arange(nx) * spacing)
    traps = Traps([f"T{k}" for k in range(nx * nx)], np.column_stack([gx.ravel(), gy.ravel()]))
    buffer = 4 * sigma
    lo, hi = -buffer, (nx - 1) * spacing + buffer
    ind, occ, trp, ids = [], [], [], []
    while len(ids) < n_target:
        x = rng.uniform(lo, hi, 2)
        d2 = ((traps.xy - x) ** 2).sum(1)
        h = -np.log1p(-g0 * np.exp(-d2 / (2 * sigma ** 2)))
        H = h.sum()
        rows = []
        for s in range(n_occasions):
            if rng.random() < 1 - math.exp(-H):
                rows.append((s, int(rng.choice(len(h), p=h / H))))
        if rows:
            i = len(ids)
            ids.append(f"A{i}")
            for s, k in rows:
                ind.append(i); occ.append(s); trp.append(k)
    ch = CaptureHistory(traps, n_occasions, np.array(ids), np.array(ind), np.array(occ),
                        np.array(trp), np.ones(len(ind), dtype=int))
    # spacing chosen so that the buffered mask has about 5,000 points
    mask = make_mask(traps.xy, buffer=buffer, spacing=((hi - lo) ** 2 / 5000) ** 0.5 * 0.97)
    return ch, mask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from econet.analytics import scr

    ch, mask = simulate(args.seed)
    print(f"traps {len(ch.traps.ids)}, animals {ch.n}, detections {ch.n_detections}, "
          f"mask points {len(mask.xy)}")
    counter = {"n": 0}
    orig = scr._detection_ll

    def counted(*a, **k):
        counter["n"] += 1
        return orig(*a, **k)

    scr._detection_ll = counted
    t0, c0 = time.perf_counter(), time.process_time()
    res = scr.fit(ch, mask, "multi", "HN")
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
    scr._detection_ll = orig
    n_eval = counter["n"]
    print(f"vectorised fit: {t_fit:.2f} s wall, {c_fit:.2f} s CPU ({n_eval} likelihood evaluations); "
          f"D {res.D.estimate:.4f}/ha, g0 {res.detection.estimate:.4f}, sigma {res.sigma.estimate:.2f} m")
    t0, c0 = time.perf_counter(), time.process_time()
    ll_loop = loglik_loop([ch], [mask], "multi", "HN", res.D.estimate, res.detection.estimate,
                          res.sigma.estimate)
    t_loop, c_loop = time.perf_counter() - t0, time.process_time() - c0
    ll_vec = res.loglik - sum(s.log_multinom for s in res.sessions)
    print(f"plain-loop likelihood: {t_loop:.2f} s wall, {c_loop:.2f} s CPU per evaluation (log L {ll_loop:.6f} vs "
          f"vectorised {ll_vec:.6f}); a loop fit would take about {t_loop * n_eval:.0f} s")
    print(f"speed-up {t_loop * n_eval / t_fit:.0f}x; machine: {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
