"""Individual identification against the allelematch vignette's figures for amExample1-5.

Source: allelematch 3.0.0 vignette "The ALLELEMATCH Package for R: Supplementary Documentation with
Tutorials" (cran/allelematch inst/doc/allelematch.Rmd; Galpern et al. 2012), section 3.2:
* Example 1: amUniqueProfile -> optimum alleleMismatch = 2, 'ZeroSecondMinimum';
  amUnique(alleleMismatch = 2): "12 unique genotypes were identified among 20 samples", no mismatches.
* Example 2: ZeroSecondMinimum profile, "the recommended alleleMismatch setting" 3; amUnique: "identified
  100 unique genotypes from these 148 samples, and did so with no errors".
* Example 3: profile 'NonZeroSecondMinimum' with optimum 6; amUnique(alleleMismatch = 6): "2 unclassified
  samples and 4 multipleMatch samples"; the unclassified are samples 208 and 251, the multiple matches
  112, 162, 183 and 218 (the text discusses each: 112 matches 110 and 260, 183 matches 182 and 181).
* Example 4: profile 'NoSecondMinimum' whose criterion, used "uncritically", is alleleMismatch = 1, where
  "all samples are declared unique"; alleleMismatch = 6 gives "99 individuals".
* Example 5: profile 'NonZeroSecondMinimum', optimum alleleMismatch = 3 (sex column as a one-column
  locus); amUnique(alleleMismatch = 3): "three unclassified samples and 11 multipleMatch samples".

econet reproduces allelematch's pipeline: R's hclust merge order (ties matter with these discrete
dissimilarities), the hybrid dynamic tree cut with allelematch's settings, first-member consensus,
iteration until singletons, and the same floating-point threshold expressions. The static cut
(method="static") is checked against the same figures where it also reaches them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from econet.analytics.genetics import match_genotypes, match_individuals, match_profile
from econet.hub.ingest.genotypes import read_genotype_table


def _example(shared, i):
    d = pd.read_csv(shared / f"reference/allelematch_examples/amExample{i}.csv", dtype=str)
    meta = ["sampleId", "knownIndividual"] if i < 5 else ["sampleId", "samplingData"]
    X = d.drop(columns=meta).to_numpy(dtype=object)
    return d, d["sampleId"].tolist(), np.where(X == "-99", None, X)


def test_example1_high_quality(shared):
    d, s, X = _example(shared, 1)
    r = match_genotypes(s, X, 2)
    assert (len(s), len(r.unique)) == (20, 12)
    assert not r.unclassified and not r.multiple_match
    # every unique genotype gathers samples of one known individual, each individual once
    known = dict(zip(d.sampleId, d.knownIndividual))
    assert sorted(known[u] for u in r.unique) == sorted(set(known.values()))
    for u, members in r.matches.items():
        assert {known[m] for m in members} == {known[u]}
    # sample 19 has a missing locus: it matches sample 20 with a score of 0.95
    assert r.scores[r.assignment["19"][0]]["20" if r.assignment["19"][0] == "19" else "19"] == pytest.approx(0.95)
    prof, guess = match_profile(s, X)
    assert guess["allele_mismatch"] == 2


def test_example1_profile_morphology(shared):
    _, s, X = _example(shared, 1)
    assert match_profile(s, X)[1] == {"allele_mismatch": 2.0, "morphology": "ZeroSecondMinimum"}


def test_example2_good_quality(shared):
    d, s, X = _example(shared, 2)
    r = match_genotypes(s, X, 3)
    assert (len(s), len(r.unique)) == (148, 100)
    assert not r.unclassified and not r.multiple_match
    # "and did so with no errors (as illustrated by the knownIndividual identifier)"
    known = dict(zip(d.sampleId, d.knownIndividual))
    for u, members in r.matches.items():
        assert {known[m] for m in members} == {known[u]}
    # the vignette runs amUnique at "the recommended alleleMismatch setting", 3, a ZeroSecondMinimum profile
    assert match_profile(s, X)[1] == {"allele_mismatch": 3.0, "morphology": "ZeroSecondMinimum"}


def test_static_cut_reaches_the_same_counts_on_good_data(shared):
    _, s, X = _example(shared, 2)
    assert len(match_genotypes(s, X, 3, method="static").unique) == 100


def test_example3_marginal_quality(shared):
    _, s, X = _example(shared, 3)
    r = match_genotypes(s, X, 6)
    assert sorted(r.unclassified, key=int) == ["208", "251"]
    assert sorted(r.multiple_match, key=int) == ["112", "162", "183", "218"]
    # "sample 112 matches two unique genotypes ... 110 ... 260"; "Sample 183 differs from two unique
    # genotypes (samples 182 and 181)"
    assert sorted(r.assignment["112"], key=int) == ["110", "260"]
    assert sorted(r.assignment["183"], key=int) == ["181", "182"]
    assert match_profile(s, X)[1] == {"allele_mismatch": 6.0, "morphology": "NonZeroSecondMinimum"}


def test_example4_low_quality(shared):
    _, s, X = _example(shared, 4)
    # NoSecondMinimum; the vignette then uses the suggested criterion "uncritically": alleleMismatch = 1
    assert match_profile(s, X)[1] == {"allele_mismatch": 1.0, "morphology": "NoSecondMinimum"}
    # "at this low criterion all samples are declared unique"
    assert len(match_genotypes(s, X, 1).unique) == len(s) == 307
    # alleleMismatch = 6: "There are 99 individuals in this output"
    assert len(match_genotypes(s, X, 6).unique) == 99


def test_example5_wildlife_profile(shared):
    _, s, X = _example(shared, 5)  # the sex column is an allele column of its own, as in the vignette
    assert X.shape[1] == 21
    prof, guess = match_profile(s, X)
    assert guess == {"allele_mismatch": 3.0, "morphology": "NonZeroSecondMinimum"}


def test_example5_counts(shared):
    _, s, X = _example(shared, 5)
    r = match_genotypes(s, X, 3)
    assert (len(r.unclassified), len(r.multiple_match)) == (3, 11)


def test_missing_alleles_count_half():
    X = np.array([["1", "2", "3", "4"], ["1", "2", None, None], ["1", "9", "3", "4"], ["7", "8", "5", "6"]],
                 dtype=object)
    # the static cut shows the arithmetic plainly (the hybrid cut declines to form a cluster whose core
    # sits right at the cut height, so on four samples it keeps them apart)
    r = match_genotypes(["a", "b", "c", "d"], X, 1, method="static")
    # b differs from a by two missing alleles (= 1 mismatch), c by one mismatching allele
    assert r.assignment["b"] == ["a"] and r.assignment["c"] == ["a"]
    assert r.unique == ["a", "d"]
    assert r.scores["a"] == {"a": 1.0, "b": 0.75, "c": 0.75}
    assert match_genotypes(["a", "b", "c", "d"], X, 0.5, method="static").assignment["b"] == ["b"]


def test_cli_match_json(shared, capsys):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(["genetics", "match", str(shared / "reference/allelematch_examples/amExample2.csv"),
              "--max-mismatch", "3", "--format", "json"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["n_unique"] == 100 and out["n_samples"] == 148
    assert len(out["unique"]) == 100 and len(out["assignments"]) == 148
    by_sample = {a["sample"]: a for a in out["assignments"]}
    assert all(by_sample[u["individual"]]["status"] == "unique" for u in out["unique"])


def test_match_from_genotype_table(shared):
    table = read_genotype_table(shared / "reference/allelematch_examples/amExample1.csv")
    assert len(match_individuals(table, 2).unique) == 12


def test_cli_profile_plot(shared, tmp_path, capsys):
    from econet.cli.main import main
    png = tmp_path / "profile.png"
    with pytest.raises(SystemExit) as exc:
        main(["genetics", "profile", str(shared / "reference/allelematch_examples/amExample1.csv"),
              "--plot", str(png), "--format", "json", "-q"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["suggested_max_mismatch"] == 2
    assert png.stat().st_size > 1000


def test_hclust_order_matches_scipy_heights_without_ties():
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist, squareform

    from econet.analytics.genetics import hclust_complete
    pts = np.random.default_rng(3).random((40, 2))
    merges, heights = hclust_complete(squareform(pdist(pts)))
    np.testing.assert_allclose(heights, linkage(pdist(pts), "complete")[:, 2])
    # R's merge convention: a leaf before a node, the smaller of two leaves or two nodes first
    for a, b in merges:
        assert not (a[0] == "node" and b[0] == "leaf")
        assert a[0] != b[0] or a[1] < b[1]


def test_hybrid_cut_separates_tight_groups_and_leaves_outliers():
    from scipy.spatial.distance import pdist, squareform

    from econet.analytics.genetics import hybrid_tree_cut
    rng = np.random.default_rng(5)
    pts = np.vstack([rng.normal(0, 0.01, (6, 2)), rng.normal(1, 0.01, (6, 2)), [[5.0, 5.0]]])
    labels = hybrid_tree_cut(squareform(pdist(pts)), cut_height=0.5)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:12])) == 1
    assert labels[0] != labels[6] and 0 not in labels[:12]
    assert labels[12] == 0  # the outlier merges above the cut: unassigned


def test_cli_match_with_sex_column_as_vignette_example5(shared, capsys):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(["genetics", "match", str(shared / "reference/allelematch_examples/amExample5.csv"),
              "--max-mismatch", "3", "--with-column", "sex", "--format", "json", "-q"])
    assert exc.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert (out["n_samples"], out["n_unclassified"], out["n_multiple_match"]) == (335, 3, 11)
