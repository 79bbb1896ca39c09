"""kanjiedge.etl: the official sample records of docs/etl-format.md §3 as hex fixtures, read() on every format (labels,
writers, raw levels, resizing, threads), read_many, and the `kanjiedge etl info|show` command line."""

import functools
import random
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from etl_reference import LAYOUT, decode, get_bits, load_hex, pack, pack_pixels, write_etl

from kanjiedge import etl
from kanjiedge.cli import main as kanjiedge_main

FIXTURES = Path(__file__).with_name("fixtures")


def fixture_file(tmp_path, name: str, rtype: str, records: int) -> tuple[Path, bytes]:
    data = load_hex(FIXTURES / f"{name}.hex", LAYOUT[rtype][0] * records)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


# ------------------------------------------------------------------------------------------ §7 worked examples


def test_example_m_type(tmp_path):
    path, data = fixture_file(tmp_path, "ETL1C_01", "M", 1)
    fields = struct.unpack(">H2sHBBBBBBIHHHHBBBB4x2016s4x", data)
    assert fields[:18] == (1, b"0 ", 1001, 48, 240, 0, 0, 1, 25, 1, 9144, 11, 7309, 7310, 1, 1, 20, 235)
    recs = etl.read(path)
    assert (recs.format, recs.labels, recs.codes, recs.writers.tolist()) == ("ETL1", ["0"], [48], [1001])
    assert recs.images.shape == (1, 63, 64)
    assert recs.images[0, 0, :8].tolist() == [0, 0, 1, 3, 15, 14, 2, 0]


def test_example_k_type(tmp_path):
    path, data = fixture_file(tmp_path, "ETL2_1", "K", 1)
    t56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"
    text = "".join(t56[get_bits(data, 6 * k, 6)] for k in range(6, 24))
    assert get_bits(data, 0, 36) == 1 and text == "A     KANJI MINCHO"
    assert (data[21] >> 2, (data[21] & 3) << 4 | data[22] >> 4) == (4, 4)
    recs = etl.read(path)
    assert (recs.format, recs.labels, recs.codes, recs.writers.tolist()) == ("ETL2", ["上"], [4 << 6 | 4], [1])
    assert recs.images.shape == (1, 60, 60)
    assert recs.images[0, 0, :8].tolist() == [0] * 8
    assert recs.images[0, 10, 24:32].tolist() == [0, 0, 0, 8, 35, 49, 45, 24]


def test_example_c_type(tmp_path):
    path, data = fixture_file(tmp_path, "ETL4C", "C", 1)
    six = [get_bits(data, 36 * k, 36) for k in range(10)]  # 36-bit fields in the listed bytes 0-47
    assert six[:2] == [500100, 5001] and six[2] >> 28 == 177 and six[3] >> 28 == 129
    assert six[5:10] == [0, 0, 1, 0, 1]  # grades 0/0, Y 1, X 0, sex 1 (age onwards lie past byte 47)
    t56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"
    assert "".join(t56[get_bits(data, 144 + 6 * k, 6)] for k in range(4)) == "H  A"
    recs = etl.read(path)
    assert (recs.format, recs.labels, recs.codes, recs.writers.tolist()) == ("ETL4", ["あ"], [0xB1], [5001])
    assert recs.images.shape == (1, 76, 72)
    assert recs.images[0, 0, :8].tolist() == [0, 1, 2, 2, 9, 15, 6, 1]


@pytest.mark.parametrize("name, rtype, first", [("ETL8B2C1", "B8", [0, 0, 1, 1, 1, 1, 0, 0]),
                                                ("ETL9B_1", "B9", [0, 0, 0, 1, 1, 0, 0, 0])])
def test_example_b_types(tmp_path, name, rtype, first):
    path, data = fixture_file(tmp_path, name, rtype, 2)
    rb = LAYOUT[rtype][0]
    assert not any(data[:rb])  # record 0 is the dummy
    assert struct.unpack_from(">HH4s", data, rb) == (1, 9250, b"A.HI")
    recs = etl.read(path)
    assert (recs.labels, recs.codes, recs.writers.tolist()) == (["あ"], [9250], [1])
    assert recs.format == {"B8": "ETL8B2", "B9": "ETL9B"}[rtype]
    assert recs.images.shape == (1, 63, 64) and recs.images[0, 0, :8].tolist() == first


@pytest.mark.parametrize("name, pad, reading, values, label, first", [
    ("ETL8G_01", 30, b"A.HIRA  ", (1, 9250), "あ", [0, 0, 0, 4, 12, 15, 3, 0]),
    ("ETL9G_01", 34, b"A.TSUGU ", (1, 12321), "亜", [1, 0, 0, 2, 7, 13, 15, 5]),
])
def test_example_g_types(tmp_path, name, pad, reading, values, label, first):
    rtype = "G8" if pad == 30 else "G9"
    path, data = fixture_file(tmp_path, name, rtype, 1)
    fields = struct.unpack(f">HH8sIBBBBHHHHBB{pad}x8128s{41 - pad}x", data)
    sheet, code = values
    assert fields[:14] == (sheet, code, reading, 1, 0, 0, 0, 0, 0, 0, 7910 if pad == 30 else 8212,
                           8001 if pad == 30 else 8310, 0, 0)
    recs = etl.read(path)
    assert (recs.labels, recs.codes, recs.writers.tolist()) == ([label], [code], [1])
    assert recs.images.shape == (1, 127, 128) and recs.images[0, 0, :8].tolist() == first


# ------------------------------------------------------------------------------------------ read() on each format

LABEL_QUIRKS = [  # docs/etl-format.md §5 label quirks + ¥: (file name, type, code, extra packer fields, label)
    ("ETL3C_1", "C", 0x30, {"klass": "N  0"}, "0"),
    ("ETL5C", "C", 0xB1, {"klass": "K  A"}, "ア"),
    ("ETL5C", "C", 0xA8, {"klass": "K WI"}, "ヰ"),
    ("ETL5C", "C", 0xAA, {"klass": "K WE"}, "ヱ"),
    ("ETL4C", "C", 0xA8, {"klass": "H WI"}, "ゐ"),
    ("ETL4C", "C", 0xAA, {"klass": "H WE"}, "ゑ"),
    ("ETL6C_01", "M", 0xB6, {"name": b"KA"}, "カ"),
    ("ETL7LC_1", "M", 0xB6, {"name": b"KA"}, "か"),
    ("ETL7SC_2", "M", 0xDE, {"name": b",,"}, "\u309b"),
    ("ETL7SC_2", "M", 0xDF, {"name": b",0"}, "\u309c"),
    ("ETL1C_13", "M", 0xA6, {"name": b"WO"}, "ヲ"),
    ("ETL1C_05", "M", 0x5C, {"name": b"$Y"}, "\u00a5"),
    ("ETL1C_07", "M", 0xA8, {"name": b"WI"}, "ヰ"),
]


@pytest.mark.parametrize("name, rtype, code, fields, label", LABEL_QUIRKS)
def test_label_quirks(tmp_path, name, rtype, code, fields, label):
    _, w, h, _, _ = LAYOUT[rtype]
    path = write_etl(tmp_path, name, [pack(rtype, code, 1001, [[0] * w for _ in range(h)], **fields)])
    assert etl.read(path).labels == [label]


FILES = [  # one file name per format, its record type, and one valid code
    ("ETL1C_01", "M", 0xB1), ("ETL2_1", "K", 4 << 6 | 4), ("ETL3C_1", "C", 0x41), ("ETL4C", "C", 0xB1),
    ("ETL5C", "C", 0xB6), ("ETL6C_01", "M", 0x41), ("ETL7LC_1", "M", 0xB1), ("ETL8B2C1", "B8", 0x2422),
    ("ETL8G_01", "G8", 0x2422), ("ETL9B_1", "B9", 0x3021), ("ETL9G_01", "G9", 0x3021),
]


def random_levels(rtype: str, seed: int) -> list:
    _, w, h, bpp, _ = LAYOUT[rtype]
    r = random.Random(seed)
    return [[r.randrange(1 << bpp) for _ in range(w)] for _ in range(h)]


@pytest.mark.parametrize("name, rtype, code", FILES)
def test_read_every_format_raw_and_resized(tmp_path, name, rtype, code):
    pixels = [random_levels(rtype, seed=i) for i in range(3)]
    klass = {"ETL3C_1": "A  A", "ETL4C": "H  A"}.get(name, "K  A")  # the class letter each C-type set uses
    recs = [pack(rtype, code, 21 + i, p, klass=klass) for i, p in enumerate(pixels)]
    path = write_etl(tmp_path, name, recs, dummy=rtype in ("B8", "B9"))
    raw = etl.read(path)
    assert raw.format == etl.detect(path)[0].name and len(raw) == 3
    assert len(set(raw.labels)) == 1 and raw.codes == [code] * 3
    for i, rec in enumerate(recs):
        np.testing.assert_array_equal(raw.images[i], np.array(decode(rtype, rec)["pixels"], np.uint8))
    small = etl.read(path, size=(20, 24), normalize="bbox")
    assert small.images.shape == (3, 20, 24) and small.images.dtype == np.uint8 and small.images.max() > 15


def test_name_detection_is_case_insensitive():
    names = {"ETL1C_01": "ETL1", "etl2_1": "ETL2", "ETL3C_2": "ETL3", "ETL4C": "ETL4", "etl5c": "ETL5",
             "ETL6C_12": "ETL6", "ETL7LC_1": "ETL7", "ETL7SC_2": "ETL7", "ETL8B2C1": "ETL8B2", "etl8g_33": "ETL8G",
             "ETL9B_5": "ETL9B", "ETL9G_50": "ETL9G"}
    for name, fmt in names.items():
        assert etl.detect(name)[0].name == fmt, name
    assert etl.detect("ETL9G_07")[1] == 7


@functools.cache
def g9_image(seed: int) -> bytes:
    return pack_pixels(random_levels("G9", seed), 4)


def g9_file(tmp_path, name: str, writers: int, codes=(0x3021, 0x2422, 0x4F53)) -> Path:
    """`writers` data sets of `codes` (images repeat every 5 writers to keep the pure-Python packer quick)."""
    recs = [pack("G9", c, 20 * w + 1, g9_image(w % 5)) for w in range(writers) for c in codes]
    return write_etl(tmp_path, name, recs)


def test_g_type_writers_are_data_sets_numbered_per_file(tmp_path):
    assert etl.read(g9_file(tmp_path, "ETL9G_01", 3)).writers.tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert etl.read(g9_file(tmp_path, "ETL9G_02", 4)).writers.tolist() == [5] * 3 + [6] * 3 + [7] * 3 + [8] * 3
    # more data sets than a real file holds: ids stay unique per file by widening the per-file block
    assert etl.read(g9_file(tmp_path, "ETL9G_03", 6)).writers.tolist()[::3] == [13, 14, 15, 16, 17, 18]


def test_b_type_writers_come_from_global_sheets(tmp_path):
    recs = [pack("B9", 0x3021, s, random_levels("B9", s)) for s in (1, 20, 21, 40, 41)]
    assert etl.read(write_etl(tmp_path, "ETL9B_1", recs, dummy=True)).writers.tolist() == [1, 1, 2, 2, 3]
    recs = [pack("B8", 0x2422, s, random_levels("B8", s)) for s in (1, 10, 11)]
    assert etl.read(write_etl(tmp_path, "ETL8B2C1", recs, dummy=True)).writers.tolist() == [1, 1, 2]


def test_k_type_writer_is_the_style_mark(tmp_path):
    recs = [pack("K", 4 << 6 | 4, 0, random_levels("K", i), mark=m) for i, m in enumerate("ABCD")]
    assert etl.read(write_etl(tmp_path, "ETL2_5", recs)).writers.tolist() == [1, 2, 3, 4]


def test_threads_do_not_change_the_result(tmp_path):
    path = g9_file(tmp_path, "ETL9G_01", 100)  # 300 records: split over threads
    one = etl.read(path, size=32, normalize="moment", threads=1)
    two = etl.read(path, size=32, normalize="moment", threads=2)
    np.testing.assert_array_equal(one.images, two.images)
    assert one.labels == two.labels and one.writers.tolist() == two.writers.tolist()


def test_read_many_concatenates_files(tmp_path):
    a, b = g9_file(tmp_path, "ETL9G_01", 2), g9_file(tmp_path, "ETL9G_02", 1)
    both = etl.read_many([a, b], size=16)
    assert both.images.shape == (9, 16, 16) and both.format == "ETL9G"
    np.testing.assert_array_equal(both.images[6:], etl.read(b, size=16).images)
    assert both.writers.tolist() == [1, 1, 1, 2, 2, 2, 5, 5, 5]
    m = write_etl(tmp_path, "ETL1C_01", [pack("M", 0x41, 1, random_levels("M", 0))])
    assert etl.read_many([a, m], size=16).format == "ETL9G+ETL1"
    with pytest.raises(etl.ETLError, match="frame size"):
        etl.read_many([a, m])


def test_read_record_matches_read(tmp_path):
    path = g9_file(tmp_path, "ETL9G_01", 2)
    img, label, code = etl.read_record(path, 4, size=32, normalize="moment")
    full = etl.read(path, size=32, normalize="moment")
    np.testing.assert_array_equal(img, full.images[4])
    assert (label, code) == (full.labels[4], full.codes[4])


def test_cli_info_and_show(tmp_path, capsys):
    path = g9_file(tmp_path, "ETL9G_01", 2)
    assert kanjiedge_main(["etl", "info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ETL9G" in out and "total" in out and "6" in out.splitlines()[1]
    png = tmp_path / "x.png"
    assert kanjiedge_main(["etl", "show", str(path), "--index", "0", "--out", str(png)]) == 0
    img = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    raw = etl.read(path).images[0]
    assert img.shape == (127, 128)
    np.testing.assert_array_equal(img, 255 - raw.astype(int) * 17)  # black ink on white
    assert kanjiedge_main(["etl", "show", str(path), "--index", "1", "--out", str(png), "--size", "48",
                           "--normalize", "moment"]) == 0
    assert cv2.imread(str(png), cv2.IMREAD_GRAYSCALE).shape == (48, 48)
    assert kanjiedge_main(["etl", "show", str(path), "--index", "99", "--out", str(png)]) == 1
    assert "out of range" in capsys.readouterr().err
