"""Genetic diversity and differentiation against hierfstat's (and FSTAT's) own printed figures.

Sources of the expected values:
* hierfstat vignette "Hierfstat latest features" (jgx65/hierfstat vignettes/hierfstat.Rmd, rendered
  vignettes/hierfstat.html, 2021-11-16): ``basic.stats(nancycats)`` prints $perloc and $overall
  (4 decimals), and ``wc(gtrunchier[,-2])`` prints $FST 0.540894, $FIS 0.8154694, and
  ``varcomp.glob(...)$F`` prints Total/Ind 0.9152809 (Fit).
* FSTAT 2.9.4 output for gtrunchier by patch shipped in the hierfstat repository (R/gtrunchier.out,
  generated 08.12.2007): Nei's per-locus and overall Ho, Hs, Ht, Dst, Fst, Fis (3 decimals), Weir &
  Cockerham Capf/Theta/Smallf per locus and over loci (3 decimals), and allelic richness per locus and
  population rarefied to 5 diploid individuals (3 decimals).
Tolerance: half a unit of the last printed digit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from econet.analytics.genetics import (allelic_richness, basic_stats, genotype_array, probability_of_identity,
                                       weir_cockerham)
from econet.hub.ingest.genotypes import read_fstat, read_genepop, read_genotype_table, read_structure

NANCY_PERLOC = """locus Ho Hs Ht Dst Htp Dstp Fst Fstp Fis Dest
fca8 0.6670 0.7790 0.8619 0.0829 0.8671 0.0881 0.0962 0.1016 0.1438 0.3987
fca23 0.6838 0.7439 0.7994 0.0555 0.8029 0.0589 0.0694 0.0734 0.0809 0.2302
fca43 0.6814 0.7442 0.7937 0.0495 0.7968 0.0526 0.0623 0.0660 0.0844 0.2054
fca45 0.7100 0.7085 0.7642 0.0557 0.7679 0.0594 0.0729 0.0774 -0.0021 0.2039
fca77 0.6295 0.7828 0.8659 0.0831 0.8711 0.0883 0.0960 0.1014 0.1958 0.4067
fca78 0.5773 0.6339 0.6773 0.0434 0.6801 0.0462 0.0641 0.0679 0.0893 0.1261
fca90 0.6454 0.7408 0.8144 0.0736 0.8190 0.0782 0.0904 0.0955 0.1287 0.3017
fca96 0.6259 0.6747 0.7657 0.0910 0.7714 0.0967 0.1189 0.1254 0.0723 0.2973
fca37 0.4485 0.5671 0.6027 0.0356 0.6049 0.0379 0.0591 0.0626 0.2091 0.0874"""
NANCY_OVERALL = dict(Ho=0.6299, Hs=0.7083, Ht=0.7717, Dst=0.0634, Htp=0.7757, Dstp=0.0674, Fst=0.0821,
                     Fstp=0.0869, Fis=0.1108, Dest=0.2310)

# FSTAT 2.9.4, gtrunchier by patch: Nei's estimation of heterozygosity (Ho Hs Ht Dst Dst' Ht' Fst Fst' Fis)
GT_NEI = """locus Ho Hs Ht Dst Dstp Htp Fst Fstp Fis
L21.V 0.083 0.278 0.644 0.365 0.379 0.657 0.568 0.576 0.701
L37.J 0.068 0.213 0.648 0.435 0.451 0.664 0.671 0.679 0.680
L20.B 0.064 0.156 0.484 0.328 0.340 0.496 0.677 0.685 0.591
L29.V 0.073 0.329 0.749 0.420 0.435 0.764 0.561 0.570 0.779
L36.B 0.061 0.339 0.779 0.441 0.457 0.795 0.566 0.574 0.820
L16.J 0.089 0.331 0.766 0.436 0.451 0.782 0.568 0.577 0.732
Overall 0.073 0.274 0.678 0.404 0.419 0.693 0.596 0.604 0.734"""
# FSTAT 2.9.4: Weir & Cockerham per locus (All rows) Capf Theta Smallf, and over all loci
GT_WC = {"L21.V": (0.889, 0.607, 0.718), "L37.J": (0.904, 0.683, 0.697), "L20.B": (0.897, 0.698, 0.659),
         "L29.V": (0.913, 0.571, 0.797), "L36.B": (0.935, 0.576, 0.846), "L16.J": (0.905, 0.590, 0.769)}
GT_WC_ALL = (0.909, 0.614, 0.763)
# FSTAT 2.9.4: allelic richness per locus and population (pop1..pop29), min sample size 5 individuals;
# the 30th column is the pooled sample
GT_AR = """L21.V 2.000 1.670 3.534 2.551 1.000 1.000 1.000 1.000 1.000 1.000 1.998 1.998 2.350 2.761 1.595 1.563 1.000 1.000 1.998 1.913 2.454 1.000 1.999 1.000 1.906 2.000 1.895 2.000 2.000 3.673
L37.J 2.623 1.996 2.562 2.957 1.965 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.357 1.935 1.823 1.563 1.785 1.986 1.000 1.000 1.851 1.000 1.906 2.000 1.984 2.000 2.000 2.894
L20.B 1.878 1.906 1.962 1.333 1.999 1.000 1.563 1.000 1.000 1.563 1.714 1.000 1.631 1.000 1.000 1.000 1.000 1.000 1.000 1.751 1.994 1.000 1.999 1.000 1.906 1.875 1.500 2.000 2.000 2.834
L29.V 2.000 1.906 2.763 1.823 1.000 1.000 1.000 1.000 1.000 1.000 2.985 2.920 1.996 2.629 2.190 2.714 1.823 1.333 1.996 1.965 1.999 1.000 1.997 1.000 2.816 1.625 2.982 3.000 3.000 3.795
L36.B 1.998 1.996 2.913 2.333 1.631 1.000 1.000 1.000 1.000 1.000 2.931 1.998 2.015 3.227 1.997 2.333 2.386 1.563 2.262 1.913 1.563 1.993 2.542 1.994 1.417 2.589 1.995 2.000 2.000 4.537
L16.J 1.983 1.998 2.438 2.897 1.000 1.996 1.563 1.000 1.714 1.000 1.970 2.000 1.878 1.983 1.595 2.758 1.891 1.978 2.623 1.992 2.000 1.000 1.978 1.000 1.670 1.964 1.984 2.000 2.000 4.511"""


def _table(text: str) -> pd.DataFrame:
    rows = [ln.split() for ln in text.strip().splitlines()]
    return pd.DataFrame([[float(x) for x in r[1:]] for r in rows[1:]], index=[r[0] for r in rows[1:]],
                        columns=rows[0][1:])


@pytest.fixture(scope="module")
def nancy(shared):
    return genotype_array(read_fstat(shared / "reference/adegenet_nancycats/nancycats.dat"))


@pytest.fixture(scope="module")
def gt_patch(shared):
    return genotype_array(read_genotype_table(shared / "reference/hierfstat_gtrunchier/gtrunchier.csv",
                                              population="Patch"))


@pytest.mark.parametrize("reader,name", [(read_fstat, "nancycats.dat"), (read_genepop, "nancycats.gen"),
                                         (read_structure, "nancycats.str")])
def test_basic_stats_nancycats_as_hierfstat(shared, reader, name):
    bs = basic_stats(reader(shared / "reference/adegenet_nancycats" / name))
    expected = _table(NANCY_PERLOC)
    got = bs.perloc.copy()
    if name.endswith(".str"):  # the STRUCTURE copy has no locus names: same order as the others
        got.index = expected.index
    np.testing.assert_allclose(got.loc[expected.index, expected.columns].to_numpy(), expected.to_numpy(),
                               atol=0.00005 + 1e-12)
    for k, v in NANCY_OVERALL.items():
        assert bs.overall[k] == pytest.approx(v, abs=0.00005), k


def test_basic_stats_gtrunchier_as_fstat(gt_patch):
    bs = basic_stats(gt_patch)
    exp = _table(GT_NEI)
    cols = ["Ho", "Hs", "Ht", "Dst", "Dstp", "Htp", "Fst", "Fstp", "Fis"]
    np.testing.assert_allclose(bs.perloc.loc[exp.index[:-1], cols].to_numpy(), exp.iloc[:-1][cols].to_numpy(),
                               atol=0.0005 + 1e-12)
    np.testing.assert_allclose(bs.overall[cols].to_numpy(dtype=float), exp.loc["Overall", cols].to_numpy(),
                               atol=0.0005 + 1e-12)


def test_weir_cockerham_gtrunchier_by_locality_as_hierfstat(shared):
    gt = read_genotype_table(shared / "reference/hierfstat_gtrunchier/gtrunchier.csv", population="Locality")
    wc = weir_cockerham(gt)
    assert wc.FST == pytest.approx(0.540894, abs=5e-7)
    assert wc.FIS == pytest.approx(0.8154694, abs=5e-8)
    assert wc.FIT == pytest.approx(0.9152809, abs=5e-8)


def test_weir_cockerham_gtrunchier_by_patch_as_fstat(gt_patch):
    wc = weir_cockerham(gt_patch)
    for loc, (capf, theta, smallf) in GT_WC.items():
        row = wc.per_locus.loc[loc]
        assert (row["Fit"], row["Fst"], row["Fis"]) == pytest.approx((capf, theta, smallf), abs=0.0005), loc
    assert (wc.FIT, wc.FST, wc.FIS) == pytest.approx(GT_WC_ALL, abs=0.0005)


def test_allelic_richness_gtrunchier_as_fstat(gt_patch):
    ar = allelic_richness(gt_patch)
    assert ar.min_alleles == 10  # "based on min. sample size of: 5 diploid individuals"
    rows = [ln.split() for ln in GT_AR.splitlines()]
    exp = pd.DataFrame([[float(x) for x in r[1:]] for r in rows], index=[r[0] for r in rows])
    np.testing.assert_allclose(ar.per_population.loc[exp.index].to_numpy(), exp.iloc[:, :29].to_numpy(),
                               atol=0.0005 + 1e-12)
    np.testing.assert_allclose(ar.pooled.loc[exp.index].to_numpy(), exp.iloc[:, 29].to_numpy(), atol=0.0005 + 1e-12)


def test_pid_formulas():
    # one locus with k equally frequent alleles: PID = 1/k^4*k + C(k,2)*(2/k^2)^2 ; PIDsib closed form
    rows = []
    alleles = ["1", "2", "3", "4"]
    for i in range(40):  # 40 individuals, every allele equally frequent (20 copies each)
        rows.append((f"s{i}", "1", "L1", alleles[i % 4], alleles[(i + 1) % 4]))
    df = pd.DataFrame(rows, columns=["sample", "population", "locus", "allele1", "allele2"])
    res = probability_of_identity(df)
    k = 4
    pid = k * (1 / k) ** 4 + (k * (k - 1) / 2) * (2 / k ** 2) ** 2
    a2, a4 = k / k ** 2, k / k ** 4
    assert res.loc[0, "PID"] == pytest.approx(pid)
    assert res.loc[0, "PIDsib"] == pytest.approx(0.25 + 0.5 * a2 + 0.5 * a2 ** 2 - 0.25 * a4)


def test_pid_nancycats_multiplies_over_loci(nancy):
    res = probability_of_identity(nancy)
    assert len(res) == 9
    assert (res["PIDsib"] > res["PID"]).all()  # siblings are always more alike than random individuals
    assert res["PID_cumulative"].iloc[-1] == pytest.approx(np.prod(res["PID"]))
    assert res["PID"].is_monotonic_increasing


def test_cli_stats_json(shared, capsys):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(["genetics", "stats", str(shared / "reference/adegenet_nancycats/nancycats.gen"), "--format", "json"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert set(out["overall"]) >= {"Ho", "Hs", "Ht", "Dst", "Fst", "Fis"}
    for k in ("Ho", "Hs", "Ht", "Dst", "Fst", "Fis"):
        assert out["overall"][k] == pytest.approx(NANCY_OVERALL[k], abs=0.00005)
    assert out["per_locus"]["fca8"]["Fis"] == pytest.approx(0.1438, abs=0.00005)
    assert out["n_samples"] == 237 and out["n_populations"] == 17
