"""`econet genetics`: diversity and differentiation (as hierfstat), PID, and individual identification
(as allelematch) from GENEPOP, FSTAT, STRUCTURE or table genotype files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from econet.cli._hubopts import AsUser, Dataset, HubDb, Taxon
from econet.cli.options import Debug, Format, OutputFormat, Quiet, apply

genetics_app = typer.Typer(help="Genetic diversity, differentiation and individual identification from genotypes.",
                           no_args_is_help=True)

FileArg = Annotated[Optional[Path], typer.Argument(help="Genotypes: .gen (GENEPOP), .dat (FSTAT), .str (STRUCTURE) or a "
                                              "CSV/TSV table (long, two columns per locus, or coded genotypes).")]
PopOpt = Annotated[Optional[str], typer.Option("--population", help="Table files: the population column.")]
SampleOpt = Annotated[Optional[str], typer.Option("--sample", help="Table files: the sample column.")]


def _read(path: Path, population: str | None, sample: str | None):
    from econet.hub.ingest.genotypes import read_genotype_table, read_genotypes
    suffix = path.suffix.lower()
    if suffix in (".gen", ".genepop", ".dat", ".fstat", ".str", ".stru", ".structure"):
        return read_genotypes(path)
    return read_genotype_table(path, population=population, sample=sample)


def _matrix(path: Path, population: str | None, sample: str | None, extra: list[str] | None):
    """Samples and the allele matrix to compare; extra table columns are prepended as in allelematch."""
    import numpy as np
    import pandas as pd

    from econet.analytics.genetics import allele_matrix
    from econet.errors import EconetError
    from econet.hub.ingest.genotypes import MISSING, SAMPLE_NAMES

    ignore = list(extra or [])
    table = _read(path, population, sample) if not ignore else None
    if ignore:
        from econet.hub.ingest.genotypes import read_genotype_table
        table = read_genotype_table(path, population=population, sample=sample, ignore=ignore)
    samples, mat, _ = allele_matrix(table)
    if not ignore:
        return samples, mat
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab", ".txt") else ","
    raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    lower = {c.lower(): c for c in raw.columns}
    scol = sample or next((lower[n] for n in SAMPLE_NAMES if n in lower), None)
    if scol is None or raw[scol].duplicated().any():
        raise EconetError("--with-column needs a sample column with unique identifiers", path=path)
    cols = []
    for c in ignore:
        if c not in raw.columns:
            raise EconetError(f"no column '{c}'", path=path)
        values = dict(zip(raw[scol].astype(str), raw[c]))
        cols.append([None if str(values.get(s, "")).strip().lower() in MISSING else values.get(s) for s in samples])
    return samples, np.column_stack([np.array(cols, dtype=object).T, mat])


def _need(file: Path | None) -> Path:
    from econet.errors import EconetError
    if file is None:
        raise EconetError("give a genotype FILE (or --db URL to run on the hub's genetic samples)", field="FILE")
    return file


def _source(file, population, sample, db, as_user, taxon, dataset):
    """(genotype table, hub input info or None): from FILE, or from the hub under the --as user's view."""
    if db is None:
        return _read(_need(file), population, sample), None
    from econet.cli._hubopts import say_input
    from econet.hub import population as pop, sharing
    from econet.hub.db import open_hub
    engine = open_hub(db)
    with engine.connect() as conn:
        view = sharing.View.for_user(conn, as_user) if as_user else sharing.View.admin("database operator")
        table, info = pop.genetics_inputs(conn, view, dataset=dataset, taxon=taxon)
    with engine.begin() as conn:
        sharing.audit(conn, view, "analysis", "cli:genetics", {"dataset": dataset, "taxon": taxon})
    say_input({"input": info})
    return table, info


@genetics_app.command("stats")
def stats(
    file: FileArg,
    population: PopOpt = None,
    sample: SampleOpt = None,
    db: HubDb = None,
    as_user: AsUser = None,
    taxon: Taxon = None,
    dataset: Dataset = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Ho, Hs, Ht, Dst, Fst, Fis (Nei 1987, as hierfstat basic.stats), Weir & Cockerham Fst/Fis,
    allelic richness (rarefied) and PID per locus and overall (of FILE, or of the hub's samples with --db)."""
    apply(quiet, debug)
    from econet.analytics.genetics import (allelic_richness, basic_stats, genotype_array,
                                           probability_of_identity, weir_cockerham)
    from econet.cli.console import emit

    table, info = _source(file, population, sample, db, as_user, taxon, dataset)
    g = genotype_array(table)
    bs = basic_stats(g)
    wc = weir_cockerham(g)
    ar = allelic_richness(g)
    pid = probability_of_identity(g)
    out = bs.as_dict()
    out["weir_cockerham"] = wc.as_dict()
    out["allelic_richness"] = ar.as_dict()
    out["pid"] = {"per_locus": pid.to_dict(orient="records"),
                  "PID": float(pid["PID"].prod()), "PIDsib": float(pid["PIDsib"].prod())}
    out["n_samples"] = len(g.samples)
    out["n_populations"] = len(g.pop_levels)
    out["loci"] = g.loci
    if info is not None:
        out["input"] = info
    if fmt == OutputFormat.json:
        emit(out, fmt)
        return
    rows = []
    r4 = lambda v: None if v is None or v != v else round(float(v), 4)  # noqa: E731
    for loc, row in bs.perloc.iterrows():
        rows.append({"locus": loc, **{k: r4(row[k]) for k in ("Ho", "Hs", "Ht", "Dst", "Fst", "Fis")},
                     "Fst_WC": r4(wc.per_locus.at[loc, "Fst"]), "Fis_WC": r4(wc.per_locus.at[loc, "Fis"]),
                     "Ar": r4(ar.pooled[loc])})
    rows.append({"locus": "overall", **{k: r4(bs.overall[k]) for k in ("Ho", "Hs", "Ht", "Dst", "Fst", "Fis")},
                 "Fst_WC": r4(wc.FST), "Fis_WC": r4(wc.FIS), "Ar": r4(ar.pooled.mean())})
    emit(rows, fmt, title=f"{len(g.samples)} samples, {len(g.pop_levels)} populations, {len(g.loci)} loci")


@genetics_app.command("match")
def match(
    file: FileArg,
    max_mismatch: Annotated[float, typer.Option("--max-mismatch", help="Allowed mismatching alleles (missing "
                                                "alleles count 1/2): allelematch's alleleMismatch.")] = 2.0,
    method: Annotated[str, typer.Option("--method", help="Tree cut: hybrid (allelematch's dynamic tree cut) "
                                        "or static (every group within --max-mismatch).")] = "hybrid",
    with_column: Annotated[Optional[list[str]], typer.Option("--with-column", help="Table files: also compare "
                           "this non-locus column (e.g. sex) as one allele column; repeatable.")] = None,
    sample: SampleOpt = None,
    population: PopOpt = None,
    db: HubDb = None,
    as_user: AsUser = None,
    taxon: Taxon = None,
    dataset: Dataset = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Identify unique individuals tolerating mismatches and missing alleles (allelematch's amUnique)."""
    apply(quiet, debug)
    from econet.analytics.genetics import allele_matrix, match_genotypes
    from econet.cli.console import emit

    info = None
    if db is not None:
        table, info = _source(None, None, None, db, as_user, taxon, dataset)
        samples, mat, _ = allele_matrix(table)
    else:
        samples, mat = _matrix(_need(file), population, sample, with_column)
    result = match_genotypes(samples, mat, max_mismatch, method)
    out = result.as_dict()
    if info is not None:
        out["input"] = info
    if fmt == OutputFormat.json:
        emit(out, fmt)
        return
    emit([{"sample": a["sample"], "individual": a["individual"], "status": a["status"],
           "matches": ", ".join(a["matches"])} for a in out["assignments"]], fmt,
         title=f"{out['n_unique']} unique individuals in {out['n_samples']} samples "
               f"({out['n_unclassified']} unclassified, {out['n_multiple_match']} multiple matches)")


@genetics_app.command("profile")
def profile(
    file: FileArg,
    sample: SampleOpt = None,
    population: PopOpt = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write the profile as a PNG.")] = None,
    method: Annotated[str, typer.Option("--method", help="Tree cut: hybrid or static.")] = "hybrid",
    with_column: Annotated[Optional[list[str]], typer.Option("--with-column", help="Table files: also compare "
                           "this non-locus column (e.g. sex) as one allele column; repeatable.")] = None,
    fmt: Format = OutputFormat.table,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Counts of unique / unclassified / multiple-match samples over a range of --max-mismatch values and
    the suggested value (allelematch's amUniqueProfile)."""
    apply(quiet, debug)
    from econet.analytics.genetics import match_profile
    from econet.cli.console import emit, say

    samples, mat = _matrix(_need(file), population, sample, with_column)
    prof, guess = match_profile(samples, mat, method=method)
    if plot is not None:
        _plot_profile(prof, guess, plot)
        say(f"plot written to {plot}")
    if fmt == OutputFormat.json:
        emit({"profile": prof.to_dict(orient="records"), "suggested_max_mismatch": guess["allele_mismatch"],
              "morphology": guess["morphology"]}, fmt)
        return
    emit(prof.to_dict(orient="records"), fmt,
         title=f"suggested --max-mismatch {guess['allele_mismatch']:g} ({guess['morphology']})")


def _plot_profile(prof, guess, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econet.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(6, 3.6))
    x = prof["allele_mismatch"]
    ax.plot(x, prof["unique"], "o-", color="tab:red", label="unique")
    ax.plot(x, prof["multiple_match"], "s-", color="black", label="multiple match")
    ax.plot(x, prof["unclassified"], "^:", color="grey", label="unclassified")
    ax.axvline(guess["allele_mismatch"], color="tab:blue", lw=1, ls="--",
               label=f"suggested {guess['allele_mismatch']:g} ({guess['morphology']})")
    ax.set_xlabel("allowed mismatching alleles (--max-mismatch)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def register(app: typer.Typer) -> None:
    app.add_typer(genetics_app, name="genetics")
