"""Genotype readers: GENEPOP, FSTAT, STRUCTURE and tables give the same long table; bad input is named.

Reference files: adegenet's nancycats in its three formats (237 cats, 17 colonies, 9 microsatellites;
adegenet inst/files), hierfstat's gtrunchier (as a table with 2-digit-per-allele codes) and allelematch's
amExample1 (two columns per locus, -99 missing).
"""

from __future__ import annotations

import pandas as pd
import pytest

from econet.errors import EconetError
from econet.hub.ingest.genotypes import (COLUMNS, read_fstat, read_genepop, read_genotype_table,
                                         read_genotypes, read_structure)

NANCY = "reference/adegenet_nancycats"


def _pairs(df: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in df[["allele1", "allele2"]].itertuples(index=False, name=None)]


def test_nancycats_three_formats_agree(shared):
    gen = read_genepop(shared / NANCY / "nancycats.gen")
    dat = read_fstat(shared / NANCY / "nancycats.dat")
    stru = read_structure(shared / NANCY / "nancycats.str")
    for df in (gen, dat, stru):
        assert list(df.columns) == COLUMNS
        assert df["sample"].nunique() == 237
        assert df["locus"].nunique() == 9
        assert df["population"].nunique() == 17
    assert list(gen["locus"].unique()) == ["fca8", "fca23", "fca43", "fca45", "fca77", "fca78", "fca90",
                                           "fca96", "fca37"]
    # GENEPOP and FSTAT copies hold the same allele indices, genotype by genotype
    assert _pairs(gen) == _pairs(dat)
    # the STRUCTURE copy uses allele sizes and another order of individuals: same missing genotypes per
    # locus, same population sizes
    miss = [df.groupby("locus", sort=False)["allele1"].apply(lambda a: a.isna().sum()).tolist() for df in (gen, stru)]
    assert miss[0] == miss[1] and sum(miss[0]) == 50
    sizes = [sorted(df.groupby("population")["sample"].nunique().tolist()) for df in (gen, stru)]
    assert sizes[0] == sizes[1] and sum(sizes[0]) == 237
    assert read_genotypes(shared / NANCY / "nancycats.gen").equals(gen)


def test_gtrunchier_table_with_coded_genotypes(shared):
    df = read_genotype_table(shared / "reference/hierfstat_gtrunchier/gtrunchier.csv", population="Patch")
    assert df["sample"].nunique() == 370
    assert df["population"].nunique() == 29
    assert list(df["locus"].unique()) == ["L21.V", "L37.J", "L20.B", "L29.V", "L36.B", "L16.J"]
    assert int(df["allele1"].isna().sum()) == 2 + 3 + 2 + 15 + 3 + 4  # NA cells in the file
    first = df[df["sample"] == df["sample"].iloc[0]]
    assert _pairs(first)[:2] == [("2", "2"), ("1", "1")]  # '22' and '11'


def test_allelematch_table_two_columns_per_locus(shared):
    df = read_genotype_table(shared / "reference/allelematch_examples/amExample2.csv")
    assert df["sample"].nunique() == 148 and df["locus"].nunique() == 10
    raw = pd.read_csv(shared / "reference/allelematch_examples/amExample2.csv")
    assert int(df["allele1"].isna().sum() + df["allele2"].isna().sum()) == int((raw == -99).sum().sum())


def test_long_and_slash_tables(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text("sample,population,locus,allele1,allele2\nT1,RU,F53,136,140\nT1,RU,F85,NA,NA\n")
    df = read_genotype_table(long)
    assert _pairs(df) == [("136", "140"), (None, None)]
    slash = tmp_path / "slash.csv"
    slash.write_text("id,pop,F53,F85\nT1,CN,136/140,0/0\nT2,CN,138/138,201/205\n")
    df = read_genotype_table(slash)
    assert df["population"].tolist() == ["CN"] * 4
    assert _pairs(df) == [("136", "140"), (None, None), ("138", "138"), ("201", "205")]


@pytest.mark.parametrize("name,text,line", [
    ("bad.gen", "title\nL1\nL2\nPop\nA1, 0101 0202\nA2, 0101\n", 6),
    ("bad2.gen", "title\nL1\nPop\nA1 0101\n", 4),
    ("bad3.gen", "title\nL1\nPop\nA1, 01X1\n", 4),
    ("bad.dat", "2 2 9 1\nL1\nL2\n1 11 12\n2 11\n", 5),
    ("bad2.dat", "two pops\nL1\n", 1),
    ("bad.str", "A 1 1 2\nA 1 3\n", 2),
    ("bad.csv", "id,pop,L1\nT1,CN,13x\n", 2),
])
def test_malformed_files_name_file_and_line(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EconetError) as exc:
        read_genotypes(path)
    assert exc.value.path == str(path)
    assert exc.value.row == line
    assert name in str(exc.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(EconetError, match="not found"):
        read_genepop(tmp_path / "none.gen")
