"""Readers for multilocus genotype files: GENEPOP, FSTAT, STRUCTURE and plain tables.

Each returns the same long table, one row per sample and locus, with columns
``sample, population, locus, allele1, allele2`` (alleles as strings, missing alleles as None), so the
CLI, the hub and the analyses share one representation. Pure functions: a path in, a DataFrame out;
malformed input raises EconetError naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import pandas as pd

from econet.errors import EconetError

COLUMNS = ["sample", "population", "locus", "allele1", "allele2"]
MISSING = {"", "na", "nan", "none", "-9", "-99", "?", "."}


def _lines(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise EconetError("file not found", path=path)
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise EconetError(f"cannot read: {exc}", path=path) from None


def _allele(token: str) -> str | None:
    t = token.strip()
    if t.lower() in MISSING or (t.isdigit() and int(t) == 0):
        return None
    return t


def _clean_number(t: str) -> str:
    """Allele codes as written, without leading zeros ('09' -> '9') so different files agree."""
    return str(int(t)) if t.isdigit() else t


def _frame(rows: list[tuple], path) -> pd.DataFrame:
    if not rows:
        raise EconetError("no genotypes found", path=path)
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"sample": str, "population": str, "locus": str}).astype(object).where(df.notna(), None)


def _unique_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}.{k + 1}")
    if len(set(out)) != len(out):  # a later name collided with a suffixed one: fall back to numbering
        out = [f"{n}.{i + 1}" for i, n in enumerate(names)]
    return out


def _split_code(code: str, digits: int, path, line: int) -> tuple[str | None, str | None]:
    if not code.isdigit() or len(code) != 2 * digits:
        raise EconetError(f"genotype '{code}' is not {2 * digits} digits", path=path, row=line)
    a, b = code[:digits], code[digits:]
    return (None if int(a) == 0 else _clean_number(a)), (None if int(b) == 0 else _clean_number(b))


# ------------------------------------------------------------------------------------------ GENEPOP


def read_genepop(path: str | Path) -> pd.DataFrame:
    """GENEPOP: a title line, locus names (one per line or comma-separated), then 'Pop' blocks of
    'name, genotype genotype ...' with 4- or 6-digit genotypes (0000 = missing).

    Populations are named after their last individual, as adegenet's read.genepop does (numbered when
    two populations would share a name); duplicate sample names get a '.2', '.3' suffix.
    """
    lines = _lines(path)
    if len(lines) < 3:
        raise EconetError("too short for a GENEPOP file (title, loci, Pop, individuals)", path=path)
    loci: list[str] = []
    i = 1
    while i < len(lines) and lines[i].strip().lower() != "pop":
        loci.extend(x.strip() for x in lines[i].split(",") if x.strip())
        i += 1
    if i >= len(lines):
        raise EconetError("no 'Pop' line found", path=path)
    if not loci:
        raise EconetError("no locus names before the first 'Pop' line", path=path, row=2)
    pops: list[list[tuple[int, str, list[str]]]] = []
    for n in range(i, len(lines)):
        text = lines[n].strip()
        if not text:
            continue
        if text.lower() == "pop":
            pops.append([])
            continue
        if "," not in text:
            raise EconetError("individual line without a ',' between name and genotypes", path=path, row=n + 1)
        name, rest = text.split(",", 1)
        codes = rest.split()
        if len(codes) != len(loci):
            raise EconetError(f"{len(codes)} genotypes for {len(loci)} loci", path=path, row=n + 1)
        pops[-1].append((n + 1, name.strip(), codes))
    digits = None
    rows = []
    names = _unique_names([ind[1] for pop in pops for ind in pop])
    popnames = _unique_names([pop[-1][1] if pop else f"pop{k + 1}" for k, pop in enumerate(pops)])
    k = 0
    for p, pop in enumerate(pops):
        for line, _, codes in pop:
            for locus, code in zip(loci, codes):
                if digits is None:
                    if len(code) not in (4, 6):
                        raise EconetError(f"genotype '{code}' must have 4 or 6 digits", path=path, row=line)
                    digits = len(code) // 2
                a, b = _split_code(code, digits, path, line)
                rows.append((names[k], popnames[p], locus, a, b))
            k += 1
    return _frame(rows, path)


# -------------------------------------------------------------------------------------------- FSTAT


def read_fstat(path: str | Path) -> pd.DataFrame:
    """FSTAT .dat: 'npop nloc maxallele digits', nloc locus names, then 'pop genotype ...' (0 = missing)."""
    lines = _lines(path)
    if not lines:
        raise EconetError("empty file", path=path)
    head = lines[0].split()
    if len(head) < 4 or not all(h.lstrip("-").isdigit() for h in head[:4]):
        raise EconetError("first line must be 'npop nloc maxallele digits'", path=path, row=1)
    _npop, nloc, _maxal, digits = (int(h) for h in head[:4])
    if nloc < 1 or digits < 1 or len(lines) < 1 + nloc:
        raise EconetError("header and locus names do not agree", path=path, row=1)
    loci = [lines[1 + k].strip() or f"loc{k + 1}" for k in range(nloc)]
    rows = []
    count: dict[str, int] = {}
    for n in range(1 + nloc, len(lines)):
        tokens = lines[n].split()
        if not tokens:
            continue
        if len(tokens) != nloc + 1:
            raise EconetError(f"{len(tokens) - 1} genotypes for {nloc} loci", path=path, row=n + 1)
        pop = _clean_number(tokens[0])
        count[pop] = count.get(pop, 0) + 1
        sample = f"{pop}-{count[pop]}"
        for locus, code in zip(loci, tokens[1:]):
            if code.strip("0") == "" or code in ("NA",):
                a = b = None
            else:
                code = code.zfill(2 * digits)
                a, b = _split_code(code, digits, path, n + 1)
            rows.append((sample, pop, locus, a, b))
    return _frame(rows, path)


# ---------------------------------------------------------------------------------------- STRUCTURE


def read_structure(path: str | Path, *, n_loci: int | None = None, one_row_per_individual: bool | None = None,
                   missing: str = "-9") -> pd.DataFrame:
    """STRUCTURE: label, population, optional extra columns, then alleles; two rows per individual
    (or one row with two columns per locus). An optional first line holds the locus names.

    Which leading columns are not loci is read from the data when ``n_loci`` is not given: in the
    two-row layout they are the columns equal on both rows of every individual.
    """
    lines = [ln for ln in _lines(path)]
    table = [(n + 1, ln.split()) for n, ln in enumerate(lines) if ln.strip()]
    if not table:
        raise EconetError("empty file", path=path)
    widths = [len(t) for _, t in table]
    ncol = max(widths, key=widths.count)
    header = None
    if widths[0] != ncol:
        header = table[0][1]
        table = table[1:]
    for line, toks in table:
        if len(toks) != ncol:
            raise EconetError(f"{len(toks)} columns where the others have {ncol}", path=path, row=line)
    labels = [t[0] for _, t in table]
    if one_row_per_individual is None:
        one_row_per_individual = not (len(labels) % 2 == 0 and all(labels[k] == labels[k + 1]
                                                                   for k in range(0, len(labels), 2)))
    if one_row_per_individual:
        if n_loci is None:
            if header is not None:  # one name per locus, or one per allele column
                n_loci = len(header) if 2 * len(header) <= ncol - 1 else len(header) // 2
            else:
                n_loci = (ncol - 2) // 2
        extra = ncol - 1 - 2 * n_loci
    else:
        if n_loci is None:
            if header is not None:
                n_loci = len(header)
            else:
                const = 0
                for c in range(1, ncol):
                    if all(table[k][1][c] == table[k + 1][1][c] for k in range(0, len(table), 2)):
                        const += 1
                    else:
                        break
                n_loci = ncol - 1 - max(const, 1)
        extra = ncol - 1 - n_loci
    if n_loci < 1 or extra < 0:
        raise EconetError(f"cannot tell loci from other columns ({ncol} columns); give n_loci", path=path)
    loci = header[-n_loci:] if header is not None and len(header) >= n_loci else [f"loc{k + 1}" for k in range(n_loci)]
    has_pop = extra >= 1
    rows = []
    step = 1 if one_row_per_individual else 2
    names = _unique_names([labels[k] for k in range(0, len(labels), step)])

    def val(t: str) -> str | None:
        return None if t == missing else _allele(t)

    for idx, k in enumerate(range(0, len(table), step)):
        toks = table[k][1]
        pop = toks[1] if has_pop else "1"
        for j, locus in enumerate(loci):
            if one_row_per_individual:
                a, b = toks[1 + extra + 2 * j], toks[2 + extra + 2 * j]
            else:
                if k + 1 >= len(table):
                    raise EconetError("odd number of rows in a two-rows-per-individual file", path=path,
                                      row=table[k][0])
                a, b = toks[1 + extra + j], table[k + 1][1][1 + extra + j]
            rows.append((names[idx], pop, locus, val(a), val(b)))
    return _frame(rows, path)


# -------------------------------------------------------------------------------------------- tables

_PAIR = re.compile(r"^(.*?)[._\-]?(a|b|1|2|A|B)$")
SAMPLE_NAMES = ("sample", "sampleid", "sample_id", "id", "individual", "ind", "name")
POP_NAMES = ("population", "pop", "site", "locality", "colony")


def read_genotype_table(path: str | Path, *, sample: str | None = None, population: str | None = None,
                        ignore: Iterable[str] = ()) -> pd.DataFrame:
    """A CSV/TSV genotype table in any of three layouts:

    * long: columns sample, population, locus, allele1, allele2 (hub exports);
    * two columns per locus: LOC1a/LOC1b, LOC1.1/LOC1.2 or LOC1_1/LOC1_2 (allelematch, GenAlEx style);
    * one column per locus holding a coded genotype: '0409' (FSTAT/hierfstat digits) or '136/139'.

    ``sample`` and ``population`` name those columns (default: the first column called sample/id/...,
    population/pop/...); columns in ``ignore`` are skipped. Missing alleles: empty, NA, 0, -9, -99.
    """
    path = Path(path)
    if not path.is_file():
        raise EconetError("file not found", path=path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab", ".txt") else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise EconetError(f"cannot read table: {exc}", path=path) from None
    if df.empty:
        raise EconetError("no rows", path=path)
    lower = {c.lower(): c for c in df.columns}
    if {"sample", "locus", "allele1", "allele2"} <= set(lower):
        out = pd.DataFrame({
            "sample": df[lower["sample"]].astype(str),
            "population": df[lower["population"]].astype(str) if "population" in lower else "1",
            "locus": df[lower["locus"]].astype(str),
            "allele1": [_allele(x) for x in df[lower["allele1"]]],
            "allele2": [_allele(x) for x in df[lower["allele2"]]],
        })
        return _frame(list(out.itertuples(index=False, name=None)), path)
    ignore = set(ignore)
    if sample is None:
        sample = next((lower[n] for n in SAMPLE_NAMES if n in lower), None)
    if population is None:
        population = next((lower[n] for n in POP_NAMES if n in lower), None)
    for name, col in (("sample", sample), ("population", population)):
        if col is not None and col not in df.columns:
            raise EconetError(f"no {name} column '{col}'", path=path)
    data_cols = [c for c in df.columns if c not in {sample, population} | ignore]
    # non-genotype metadata columns: any value with letters that is not a locus code
    data_cols = [c for c in data_cols if c.lower() not in ("knownindividual", "samplingdata", "sex", "patch",
                                                              "locality", "note", "notes", "date")]
    samples = (df[sample].astype(str).tolist() if sample else [f"S{k + 1}" for k in range(len(df))])
    samples = _unique_names(samples)
    pops = df[population].astype(str).tolist() if population else ["1"] * len(df)
    pairs: list[tuple[str, str, str]] = []
    singles: list[str] = []
    used: set[str] = set()
    for c in data_cols:
        if c in used:
            continue
        m = _PAIR.match(c)
        if m and m.group(1):
            partner = {"a": "b", "1": "2", "A": "B"}.get(m.group(2))
            cand = [d for d in data_cols if d != c and d not in used and _PAIR.match(d)
                    and _PAIR.match(d).group(1) == m.group(1) and _PAIR.match(d).group(2) == partner]
            if cand:
                pairs.append((m.group(1), c, cand[0]))
                used |= {c, cand[0]}
                continue
        singles.append(c)
        used.add(c)
    rows = []
    for r in range(len(df)):
        line = r + 2
        for locus, c1, c2 in pairs:
            rows.append((samples[r], pops[r], locus, _allele(df.at[r, c1]), _allele(df.at[r, c2])))
        for c in singles:
            code = str(df.at[r, c]).strip()
            if _allele(code) is None:
                rows.append((samples[r], pops[r], c, None, None))
                continue
            if "/" in code or "-" in code[1:] or ":" in code:
                parts = re.split(r"[/:]|(?<=\d)-", code)
                if len(parts) != 2:
                    raise EconetError(f"genotype '{code}' is not 'allele/allele'", path=path, row=line, field=c)
                rows.append((samples[r], pops[r], c, _allele(parts[0]), _allele(parts[1])))
                continue
            if code.endswith(".0"):
                code = code[:-2]
            if not code.isdigit() or len(code) % 2:
                raise EconetError(f"genotype '{code}' is neither 'a/b' nor an even number of digits",
                                  path=path, row=line, field=c)
            d = len(code) // 2
            a, b = code[:d], code[d:]
            rows.append((samples[r], pops[r], c, None if int(a) == 0 else _clean_number(a),
                         None if int(b) == 0 else _clean_number(b)))
    if not pairs and not singles:
        raise EconetError("no locus columns found", path=path)
    return _frame(rows, path)


def read_genotypes(path: str | Path, **kwargs) -> pd.DataFrame:
    """Read any supported genotype file, chosen by extension (.gen GENEPOP, .dat FSTAT, .str STRUCTURE,
    otherwise a CSV/TSV table)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".gen", ".genepop"):
        return read_genepop(path)
    if suffix in (".dat", ".fstat"):
        return read_fstat(path)
    if suffix in (".str", ".stru", ".structure"):
        return read_structure(path, **kwargs)
    return read_genotype_table(path, **kwargs)
