"""Checks that decoded ETL records belong to the set their file name names, so that a wrong or damaged file gives
one clear error naming the file and the record instead of silently wrong images or labels.

Each record's label code must be in the set's code list (kanjiedge.formats), the header fields kanjiedge uses must
be in range (sheet numbers >= 1, ETL2 style mark A..D, ETL3/4/5 class letter), and a G-type data set may not hold
more characters than the real set has (ETL9G records in a file named ETL8G_01 fail here: their first data set runs
past 956 characters). docs/etl-format.md "Telling the sets apart" gives the evidence for each rule.
"""

import numpy as np

from kanjiedge import codes as codes_mod
from kanjiedge.errors import InputError
from kanjiedge.formats import T56, Format


class ETLError(InputError):
    """A file that is not a readable ETL file; the message names the file (and record, if there is one)."""


def fail(path, index: int, what: str) -> ETLError:
    return ETLError(f"{path}: record {index}: {what}")


def _code_text(fmt: Format, code: int) -> str:
    kind = {"x0201": "JIS X 0201 code", "x0208": "JIS X 0208 code", "co59": "CO-59 code"}[fmt.encoding]
    text = f"({code >> 6}, {code & 63})" if fmt.encoding == "co59" else f"0x{code:0{2 if code < 256 else 4}X}"
    try:
        return f"{kind} {text} ({codes_mod.label(fmt.encoding, code, fmt.hiragana)})"
    except codes_mod.UnknownCode:
        return f"{kind} {text}"


def _first_bad(ok: np.ndarray) -> int | None:
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else None


def _field_problem(fmt: Format, meta: np.ndarray) -> tuple[int, str] | None:
    """(index, description) of the first record whose code or header fields do not fit `fmt`, else None."""
    code = meta["code"]
    i = _first_bad(np.isin(code, fmt.valid_codes()))
    if i is not None:
        return i, f"{_code_text(fmt, int(code[i]))} is not in the {fmt.name} character list"
    if fmt.kind in "MCB":
        i = _first_bad(meta["sheet"] >= 1)
        if i is not None:
            return i, "sheet number 0 (sheet numbers start at 1)"
    if fmt.kind == "K":
        i = _first_bad((meta["aux"] >= 17) & (meta["aux"] <= 20))
        if i is not None:
            return i, f"style mark {T56[meta['aux'][i]]!r} (T56 {meta['aux'][i]}) is not one of A, B, C, D"
    if fmt.kind == "C":
        allowed = [T56.index(c) for c in fmt.t56_class]
        i = _first_bad(np.isin(meta["aux"], allowed))
        if i is not None:
            return i, (f"class code starts with {T56[meta['aux'][i]]!r}; {fmt.name} records start with "
                       f"{' or '.join(map(repr, fmt.t56_class))}")
    return None


def check_fields(path, fmt: Format, meta: np.ndarray, first: int, records=None) -> None:
    """Raise ETLError for the first record of `meta` (file records first, first + 1, ...) that does not fit `fmt`.

    `records` (optional, bytes-like holding the same records) lets the message say when a record is all zeros.
    """
    found = _field_problem(fmt, meta)
    if found is None:
        return
    i, what = found
    rb = fmt.layout.record_bytes
    if records is not None and not any(memoryview(records)[i * rb:(i + 1) * rb]):
        what = f"all {rb} bytes are zero: not an {fmt.name} record"
    raise fail(path, first + i, what)


def check_data_sets(path, fmt: Format, sets: np.ndarray, first: int) -> None:
    """G-type: no data set (see etl._data_sets) may hold more records than the set has characters."""
    if not fmt.classes or not len(sets):
        return
    sizes = np.bincount(sets)
    over = np.flatnonzero(sizes > fmt.classes)
    if len(over):
        k = int(over[0])
        i = int(np.flatnonzero(sets == k)[fmt.classes])
        others = [g for g in ("ETL8G", "ETL9G") if g != fmt.name]
        raise fail(path, first + i, f"data set {k + 1} holds more than the {fmt.classes} different characters of "
                                    f"{fmt.name}; these records are not {fmt.name} records (e.g. {others[0]} "
                                    f"records, whose image starts at another offset)")
