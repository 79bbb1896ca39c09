"""Bad input never crashes and never yields silently shifted images: every problem is one ETLError whose
message names the file (and the record, when one is at fault)."""

import tempfile
from pathlib import Path

import pytest
from etl_reference import LAYOUT, pack, write_etl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanjiedge import etl
from kanjiedge.cli import main as kanjiedge_main

NAMES = {"ETL1C_01": "M", "ETL2_1": "K", "ETL4C": "C", "ETL8B2C1": "B8", "ETL8G_01": "G8", "ETL9B_1": "B9",
         "ETL9G_01": "G9"}
GOOD = {"M": 0xB1, "K": 4 << 6 | 4, "C": 0xB1, "B8": 0x2422, "B9": 0x3021, "G8": 0x2422, "G9": 0x3021}
BAD = {"M": 0x05, "K": 0, "C": 0xFF, "B8": 0x2F21, "B9": 0x7F7F, "G8": 0x0101, "G9": 0x2F21}


def blank(rtype: str) -> bytes:
    _, w, h, bpp, _ = LAYOUT[rtype]
    return bytes(w * h * bpp // 8)


def record(name: str, code: int) -> bytes:
    """A record for file `name` (ETL4C records carry the hiragana class letter 'H')."""
    rtype = NAMES[name]
    return pack(rtype, code, 1, blank(rtype), klass="H  A" if name == "ETL4C" else "K  A")


def good_file(tmp_path, name: str, n: int = 3) -> Path:
    rtype = NAMES[name]
    recs = [record(name, GOOD[rtype]) for _ in range(n)]
    return write_etl(tmp_path, name, recs, dummy=rtype in ("B8", "B9"))


@pytest.mark.parametrize("name", NAMES)
def test_truncated_or_padded_file(tmp_path, name):
    path = good_file(tmp_path, name)
    data = path.read_bytes()
    for bad in (data[:-1], data + b"\0", data[:LAYOUT[NAMES[name]][0] // 2]):
        path.write_bytes(bad)
        with pytest.raises(etl.ETLError, match=rf"^{path}: size {len(bad)} bytes is not a whole number"):
            etl.read(path)


def test_empty_file_and_b_type_with_only_the_dummy(tmp_path):
    (tmp_path / "ETL9G_01").write_bytes(b"")
    with pytest.raises(etl.ETLError, match="ETL9G_01: size 0 bytes"):
        etl.read(tmp_path / "ETL9G_01")
    (tmp_path / "ETL9B_1").write_bytes(bytes(576))
    with pytest.raises(etl.ETLError, match="ETL9B_1: size 576 bytes"):
        etl.read(tmp_path / "ETL9B_1")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_code_names_the_record(tmp_path, name):
    rtype = NAMES[name]
    recs = [record(name, c) for c in (GOOD[rtype], GOOD[rtype], BAD[rtype], BAD[rtype])]
    dummy = rtype in ("B8", "B9")
    path = write_etl(tmp_path, name, recs, dummy=dummy)
    with pytest.raises(etl.ETLError, match=rf"^{path}: record {2 + dummy}: .* code .* is not in the "
                                           rf"{etl.detect(path)[0].name} character list$"):
        etl.read(path, size=16, normalize="moment")


def test_co59_code_outside_the_table_is_an_error(tmp_path):
    path = write_etl(tmp_path, "ETL2_3", [pack("K", 4 << 6 | 4, 0, blank("K")), pack("K", 60 << 6 | 4, 0, blank("K"))])
    with pytest.raises(etl.ETLError, match=r"ETL2_3: record 1: CO-59 code \(60, 4\) is not in the ETL2 character list$"):
        etl.read(path)


def test_b_type_without_dummy_record(tmp_path):
    path = write_etl(tmp_path, "ETL9B_2", [pack("B9", 0x3021, 1, blank("B9"))] * 2, dummy=False)
    with pytest.raises(etl.ETLError, match=r"ETL9B_2: record 0: expected the all-zero dummy record"):
        etl.read(path)


@pytest.mark.parametrize("name", ["ETL10_1", "ETL9G_01.png", "notes.txt", "ETL9INFO", "ETL8X_1", "data"])
def test_wrong_name(tmp_path, name):
    (tmp_path / name).write_bytes(bytes(8199))
    with pytest.raises(etl.ETLError, match=rf"{name}: not an ETL data file name"):
        etl.read(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(etl.ETLError, match=r"ETL9G_01: cannot read"):
        etl.read(tmp_path / "ETL9G_01")


def test_bad_arguments(tmp_path):
    path = good_file(tmp_path, "ETL9G_01")
    with pytest.raises(ValueError, match="normalize"):
        etl.read(path, size=64, normalize="stretch")
    with pytest.raises(ValueError, match="needs a size"):
        etl.read(path, normalize="moment")
    with pytest.raises(ValueError, match="size"):
        etl.read(path, size=0)


def test_cli_prints_one_line(tmp_path, capsys):
    path = tmp_path / "ETL9G_01"
    path.write_bytes(bytes(100))
    assert kanjiedge_main(["etl", "info", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(NAMES)), records=st.integers(1, 3), seed=st.binary(min_size=0, max_size=64),
       cut=st.integers(-3, 3), size=st.sampled_from([None, 16]))
def test_random_bytes_decode_or_fail_cleanly(name, records, seed, cut, size):
    rtype = NAMES[name]
    nbytes = LAYOUT[rtype][0] * records
    data = (seed * (nbytes // max(len(seed), 1) + 1))[:nbytes] if seed else bytes(nbytes)
    data = data[:max(0, nbytes + cut)] if cut < 0 else data + bytes(cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            recs = etl.read(path, size=size, normalize="none" if size is None else "moment")
        except etl.ETLError as e:
            assert str(e).startswith(f"{path}: ")
            return
        dummy = rtype in ("B8", "B9")
        assert cut == 0 and len(recs) == records - dummy == len(recs.labels) == len(recs.writers)
        assert recs.images.dtype.name == "uint8" and recs.images.shape[0] == len(recs)
