"""Genotype import: GENEPOP, FSTAT, STRUCTURE and genotype tables (readers in hub/ingest/genotypes.py) into
genetic samples and per-locus genotypes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.ingest.base import Ingest, row_digest

FORMAT = "genotypes"
SUFFIXES = (".gen", ".genepop", ".dat", ".fstat", ".str", ".stru", ".structure")


def detect(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUFFIXES


def load(ing: Ingest, path: Path, **options) -> dict:
    from econet.hub.ingest.genotypes import read_genotypes
    kwargs = {k: v for k, v in options.items() if k in ("sample", "population", "n_loci")}
    df = read_genotypes(path, **kwargs)
    store_genotypes(ing, df, path)
    return {"source_format": f"genotypes:{path.suffix.lower().lstrip('.') or 'table'}"}


def store_genotypes(ing: Ingest, df: pd.DataFrame, path: Path) -> None:
    """Samples (one per sample id) and genotypes (one per sample x locus) from the long table."""
    if df.empty:
        raise EconetError("no genotypes found", path=path)
    for col in ("sample", "locus"):
        bad = df[col].isna()
        if bad.any():
            line = int(df.loc[bad, "line"].iloc[0]) if "line" in df else None
            raise EconetError(f"missing {col}", path=path, row=line, field=col)
    samples = df.drop_duplicates("sample")
    taxa = {}
    if "scientific_name" in df:
        for n in samples["scientific_name"].dropna().unique():
            taxa[n] = ing.taxa.match(n)
    inds = {}
    if "individual" in df:
        keys = [k for k in samples["individual"].tolist() if k]
        inds = ing.individual_ids(keys)
    rows = []
    for r in samples.itertuples(index=False):
        rd = r._asdict()
        rows.append({"sample_key": str(rd["sample"]), "population": rd.get("population"),
                     "taxon_id": taxa.get(rd.get("scientific_name")), "individual_id": inds.get(rd.get("individual")),
                     "source_row": rd.get("line"),
                     "row_hash": row_digest(["sample", rd["sample"], rd.get("population")]).hex()})
    for i in range(0, len(rows), 5000):
        ing.insert(m.GeneticSample, rows[i:i + 5000])
    ids = ing.key_map(m.GeneticSample, "sample_key")
    seen = set()
    geno = []
    for r in df.itertuples(index=False):
        key = (ids[str(r.sample)], str(r.locus))
        if key in seen:
            raise EconetError(f"sample {r.sample!r} has locus {r.locus!r} twice", path=path,
                              row=getattr(r, "line", None), field="locus")
        seen.add(key)
        geno.append({"sample_id": key[0], "locus": key[1], "allele1": r.allele1, "allele2": r.allele2,
                     "batch_id": ing.batch_id})
    if ing.sqlite:
        from sqlalchemy.dialects.sqlite import insert as ins
    else:
        from sqlalchemy.dialects.postgresql import insert as ins
    for i in range(0, len(geno), 5000):
        ing.conn.execute(ins(m.Genotype).on_conflict_do_nothing(), geno[i:i + 5000])
    ing.tick(len(df), "genotypes")
