"""kanjiedge.formats is the one ETL format table: the C codec's own layouts agree with it, reader and writer use it,
and what the synthetic writer stores is what the reader's checks accept."""

import re

import numpy as np
import pytest
from etl_reference import LAYOUT

from kanjiedge import charsets, etl, formats, native, synth


def test_c_layouts_agree_with_the_table():
    """csrc/ke_record.c keeps its own LAYOUTS (C has no access to Python): every field must match."""
    assert sorted(native.TYPES) == sorted(formats.LAYOUTS)
    for rtype, lay in formats.LAYOUTS.items():
        c = native.layout(rtype)
        assert (c.record_bytes, c.width, c.height, c.bpp, c.image_offset) == (
            lay.record_bytes, lay.width, lay.height, lay.bpp, lay.image_offset), rtype


def test_independent_reference_agrees_with_the_table():
    """tests/etl_reference.py (written from the format description, not from the code) has the same layouts."""
    for rtype, lay in formats.LAYOUTS.items():
        assert LAYOUT[rtype] == (lay.record_bytes, lay.width, lay.height, lay.bpp, lay.image_offset), rtype


def test_records_hold_whole_images():
    for lay in formats.LAYOUTS.values():
        assert lay.image_offset + lay.width * lay.height * lay.bpp // 8 <= lay.record_bytes, lay.rtype


def test_reader_and_writer_share_the_table():
    assert synth.FORMATS is formats.FORMATS and synth.get_format is formats.get_format
    for key, fmt in formats.FORMATS.items():
        name = fmt.file_pattern.format(i=3)
        assert etl.detect(name)[0] is fmt, name  # every file synth writes is read back as its own format
        assert re.fullmatch(fmt.pattern, name, re.IGNORECASE), name


@pytest.mark.parametrize("key", sorted(formats.FORMATS))
def test_synthetic_codes_are_in_the_set(key):
    """Every code synth can write for a format is one the reader's set check accepts."""
    fmt = formats.FORMATS[key]
    assert np.isin(np.array(charsets.charset(fmt.charset).codes), fmt.valid_codes()).all()


def test_set_sizes():
    sizes = {k: len(f.valid_codes()) for k, f in formats.FORMATS.items()}
    assert sizes["etl9g"] == sizes["etl9b"] == 3036  # 2,965 level-1 kanji + 71 hiragana, exactly
    assert sizes["etl8g"] == 2965 + 75  # level-1 kanji + 75 hiragana: a superset of the 956 (see the docs)
    assert sizes["etl2"] == 48 * 48
    assert sizes["etl4"] == sizes["etl5"] == 48 and sizes["etl7"] == 48
