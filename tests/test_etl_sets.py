"""Fault injection for issue 9 §2, §3 and the zero-record file of §5: real ETL byte layouts (tests/etl_reference.py
packs them field by field) carrying codes and header fields that real files hold, or that a wrong or damaged file
would hold. Every bad case is one ETLError "<file>: record <i>: <what>"; the good cases read and build."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from etl_reference import LAYOUT, pack, write_etl

from kanjiedge import codes, dataset, etl, formats, synth
from kanjiedge.cli import main as kanjiedge_main

CO59 = {ch: [k for k, c in codes.co59_table().items() if c == ch] for ch in ("上", "滅", "輪", "▲")}
NO_CHAR = 15 << 6 | 17  # the code the genuine ETL2_1 holds at record 3730, '▲' in AIST's table


def blank(rtype: str) -> bytes:
    _, w, h, bpp, _ = LAYOUT[rtype]
    return bytes(w * h * bpp // 8)


def k_record(code: int, mark: str = "A") -> bytes:
    return pack("K", code, 0, blank("K"), mark=mark)


# ------------------------------------------------------------------------------------------ §2 real ETL2


def etl2_folder(tmp_path) -> Path:
    """ETL2_1 as the real one is made: 4 style marks, each with 上, both codes of 滅, and a '▲' code."""
    folder = tmp_path / "etl2"
    folder.mkdir()
    recs = [k_record(c, m) for m in "ABCD" for c in (CO59["上"][0], *CO59["滅"], NO_CHAR, CO59["▲"][5])]
    write_etl(folder, "ETL2_1", recs)
    return folder


def test_etl2_no_character_codes_are_read_and_flagged(tmp_path):
    recs = etl.read(etl2_folder(tmp_path) / "ETL2_1")
    assert len(recs) == 20 and recs.labels[:5] == ["上", "滅", "滅", "▲", "▲"]
    assert recs.no_char.tolist() == [False, False, False, True, True] * 4
    assert recs.codes[3] == NO_CHAR and recs.writers.tolist() == [1] * 5 + [2] * 5 + [3] * 5 + [4] * 5


def test_etl_info_counts_no_character_records(tmp_path, capsys):
    assert kanjiedge_main(["etl", "info", str(etl2_folder(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["no", "char"]
    assert lines[1].split()[1:] == ["ETL2", "20", "2", "4", "8"]  # 2 classes (上 滅), 8 records without one


def test_dataset_leaves_no_character_records_out_and_merges_duplicate_codes(tmp_path):
    folder = etl2_folder(tmp_path)
    out = dataset.build(folder, tmp_path / "ds", size=16, progress=False)
    d = dataset.load(out)
    assert d.chars == ["上", "滅"] and len(d) == 12  # both CO-59 codes of 滅 are one class
    assert d.labels.tolist() == [0, 1, 1] * 4 and d.images.shape == (12, 16, 16)
    full = etl.read(folder / "ETL2_1", size=16, normalize="moment")
    np.testing.assert_array_equal(np.asarray(d.images), full.images[~full.no_char])
    (src,) = d.manifest["sources"]
    assert (src["records"], src["no_character"]) == (20, 8) and d.manifest["counts"]["samples"] == 12


def test_co59_code_outside_the_table_is_still_an_error(tmp_path):
    path = write_etl(tmp_path, "ETL2_1", [k_record(CO59["上"][0]), k_record(3 << 6 | 4)])
    with pytest.raises(etl.ETLError, match=rf"^{path}: record 1: CO-59 code \(3, 4\) is not in the ETL2 "):
        etl.read(path)


# ------------------------------------------------------------------------------------------ §3 wrong set, bad fields


def g_records(rtype: str, codes_: list) -> list:
    return [pack(rtype, c, 1, blank(rtype)) for c in codes_]


BAD_FIELDS = [  # (file name, records, bad record index, message)
    *[("ETL9G_01", g_records("G9", [0x3021, code]), 1, rf"JIS X 0208 code 0x{code:04X} \({ch}\) is not in the "
       "ETL9G character list") for code, ch in ((0x2421, "ぁ"), (0x2126, "・"), (0x5021, "弌"), (0x2330, "０"))],
    ("ETL9G_01", g_records("G9", [0x3021, 0x2443]), 1, r"JIS X 0208 code 0x2443 \(っ\) is not in the ETL9G"),  # an ETL8 kana
    ("ETL2_1", [k_record(CO59["上"][0]), k_record(CO59["上"][0], mark="0")], 1,
     r"style mark '0' \(T56 0\) is not one of A, B, C, D"),
    ("ETL1C_01", [pack("M", 0xB1, 1001, blank("M")), pack("M", 0xB1, 0, blank("M"))], 1, "sheet number 0"),
    ("ETL4C", [pack("C", 0xB1, 5001, blank("C"), klass="H  A"), pack("C", 0xB1, 0, blank("C"), klass="H  A")], 1,
     "sheet number 0"),
    ("ETL5C", [pack("C", 0xB1, 1, blank("C"), klass="H  A")], 0, "class code starts with 'H'; ETL5 records start "
     "with 'K'"),
    ("ETL1C_01", [pack("M", 0x61, 1, blank("M"))], 0, r"JIS X 0201 code 0x61 \(a\) is not in the ETL1"),
    ("ETL7LC_1", [pack("M", 0x41, 1, blank("M"))], 0, r"JIS X 0201 code 0x41 \(A\) is not in the ETL7 character list"),
    ("ETL9G_01", g_records("G9", [0x3021, 0x3022]) + [bytes(8199)], 2, "all 8199 bytes are zero: not an ETL9G"),
]


@pytest.mark.parametrize("name, records, index, what", BAD_FIELDS)
def test_record_that_does_not_fit_its_set(tmp_path, name, records, index, what):
    dummy = etl.detect(name)[0].dummy
    path = write_etl(tmp_path, name, records, dummy=dummy)
    with pytest.raises(etl.ETLError, match=rf"^{path}: record {index + dummy}: {what}"):
        etl.read(path, size=16, normalize="moment")


def test_b_type_sheet_zero(tmp_path):
    path = write_etl(tmp_path, "ETL9B_1", [pack("B9", 0x3021, 1, blank("B9")), pack("B9", 0x3021, 0, blank("B9"))],
                     dummy=True)
    with pytest.raises(etl.ETLError, match=rf"^{path}: record 2: sheet number 0"):
        etl.read(path)


def test_etl9g_records_in_a_file_named_etl8g(tmp_path):
    """Genuine ETL9G records (a data set of more than 956 characters) in ETL8G_01 fail at the 957th; 956 pass."""
    level1 = [int(c) for c in formats.FORMATS["etl9g"].valid_codes() if c >= 0x3021][:957]
    path = write_etl(tmp_path, "ETL8G_01", g_records("G9", level1))
    with pytest.raises(etl.ETLError, match=rf"^{path}: record 956: data set 1 holds more than the 956 different "
                                           "characters of ETL8G; these records are not ETL8G records"):
        etl.read(path, size=16)
    path.write_bytes(path.read_bytes()[:956 * 8199])
    assert len(set(etl.read(path, size=16).labels)) == 956


def test_etl8g_files_renamed_etl9g_fail(tmp_path):
    """Synthetic ETL8G (whose set has the small kana っ) under an ETL9G name: the first っ record is named."""
    (path,) = synth.write("etl8g", 1, 0, tmp_path, chars="亜っ", jobs=1, progress=False)
    wrong = path.rename(tmp_path / "ETL9G_01")
    with pytest.raises(etl.ETLError, match=rf"^{wrong}: record 1: JIS X 0208 code 0x2443 \(っ\) is not in the ETL9G"):
        etl.read(wrong)


def test_cli_and_dataset_give_one_line(tmp_path, capsys):
    folder = tmp_path / "etl"
    folder.mkdir()
    write_etl(folder, "ETL9G_01", g_records("G9", [0x3021, 0x5021]))
    assert kanjiedge_main(["dataset", "--etl-dir", str(folder), "--out", str(tmp_path / "ds"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{folder / 'ETL9G_01'}: record 1: JIS X 0208 code 0x5021 (弌)" in err[0]
    assert not (tmp_path / "ds").exists()


# ------------------------------------------------------------------------------------------ §5 zero-record file


@pytest.fixture
def huge_zero_file(tmp_path):
    """A 10.7 GB ETL9G_01 of zeros, sparse (no disk blocks); removed by the test's tmp_path cleanup."""
    path = tmp_path / "etl" / "ETL9G_01"
    path.parent.mkdir()
    with open(path, "wb") as f:
        f.truncate(1_300_000 * 8199)
    yield path
    path.unlink()


def test_huge_file_of_zeros_is_rejected_from_its_first_record(huge_zero_file, capsys):
    with pytest.raises(etl.ETLError, match=rf"^{huge_zero_file}: record 0: all 8199 bytes are zero: not an ETL9G"):
        etl.read(huge_zero_file)  # raw levels would need 21 GB: no allocation happens before the check
    assert kanjiedge_main(["etl", "info", str(huge_zero_file)]) == 1
    assert kanjiedge_main(["dataset", "--etl-dir", str(huge_zero_file.parent), "--out",
                           str(huge_zero_file.parent.parent / "ds"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(f"{huge_zero_file}: record 0: all 8199 bytes are zero" in e for e in err)
    assert os.stat(huge_zero_file).st_blocks == 0  # still sparse: nothing was written into it
