"""Read ETL Character Database files: format detection, fast decoding through the C codec, Unicode labels,
writer ids; and the `kanjiedge etl info|show` command line.

    recs = read("ETL9G_01", size=64, normalize="moment")   # recs.images uint8 [12144, 64, 64], 0..255
    recs.labels[0], recs.codes[0], recs.format, recs.writers[0]   # '亜', 0x3021, 'ETL9G', 1

How it stays fast and lean: the file is memory-mapped, records are decoded (and resized) by C straight into one
preallocated output array, using `threads` threads over record ranges (cffi releases the GIL), and labels are
decoded once per distinct code. No per-record Python objects are made for images.

Record numbers in error messages are 0-based positions in the file; for B-type files (ETL8B2, ETL9B) position 0
is the dummy record that read() skips, so output index k is file record k + 1.

Writer ids (`Records.writers`, int64), chosen so that ids are unique within one data set family (all ETL9G
files, all ETL1 files, ...):
* M (ETL1/6/7), C (ETL3/4/5): the sheet number stored in the record (one sheet = one writer).
* B: the data set, from the globally numbered sheets: (sheet - 1) // 20 + 1 for ETL9B (20 sheets per data set),
  (sheet - 1) // 10 + 1 for ETL8B2 (10 sheets per data set).
* G (ETL8G, ETL9G): the data set. A data set holds each character once, so a new one starts at the first code
  that repeats within the current one; data set k (0-based) of file number F (the digits in ETL9G_F) gets id
  (F - 1) * P + k + 1 with P = max(4 for ETL9G / 5 for ETL8G, data sets in this file). Real files give 1..200
  (ETL9G) and 1..160 (+161 for the model patterns in ETL8G_33).
* K (ETL2, printed type): the style mark A..D as 1..4 (there are no writers).

Every record is checked against its set (kanjiedge.etlcheck): a file whose records belong to another set, or
hold codes or header fields the set does not have, gives one ETLError naming the file and the record; the first
64 records are checked before anything is mapped or allocated. ETL2 records whose CO-59 code AIST's table maps
to '▲' (no character) are read, labelled '▲' and flagged in `Records.no_char`. Formats: kanjiedge.formats and
docs/etl-format.md.
"""

import argparse
import mmap
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kanjiedge import codes as codes_mod
from kanjiedge import etlcheck, native, outputs
from kanjiedge.errors import InputError
from kanjiedge.etlcheck import ETLError
from kanjiedge.formats import FORMATS, Format, Layout


MODES = tuple(native.MODES)  # none, bbox, moment, clean-bbox, clean-moment (csrc/ke.h)


@dataclass
class Records:
    """Decoded records of one file (or several files of one frame size, see read_many)."""

    images: np.ndarray  # uint8 [N, H, W]
    labels: list  # list[str], one character each
    codes: list  # list[int], raw codes (JIS X 0201 byte, JIS X 0208 row/cell, CO-59 a<<6|b)
    format: str  # "ETL9G", ...
    writers: np.ndarray  # int64 [N], see the module docstring
    no_char: np.ndarray  # bool [N]: the code has no character (CO-59 '▲', ETL2 only); the label is '▲'

    def __len__(self) -> int:
        return len(self.images)


def detect(path) -> tuple[Format, int]:
    """Format and file number (1 when the name has none) from a file name such as ETL9G_01 or etl8b2c1."""
    name = Path(path).name
    for fmt in FORMATS.values():
        m = re.fullmatch(fmt.pattern, name, flags=re.IGNORECASE)
        if m:
            return fmt, int(m.group(1) or 1)
    raise ETLError(f"{path}: not an ETL data file name (expected e.g. ETL1C_01, ETL2_1, ETL4C, ETL8B2C1, ETL9G_01)")


@dataclass(frozen=True)
class _Source:
    """A checked file: format, record layout, file number and the record range read() returns."""

    path: Path
    fmt: Format
    layout: Layout
    file_no: int
    first: int  # first record read (1 for B-type files: 0 is the dummy)
    count: int  # records returned


PRECHECK = 64  # records whose fields inspect_file() checks before anything is mapped or allocated


def inspect_file(path) -> _Source:
    """Detect the format, check the file size and the fields of the first records (so that a huge file of
    zeros or of another set fails at once); raises ETLError when the file cannot be an ETL file of its set."""
    path = Path(path)
    fmt, file_no = detect(path)
    lay = fmt.layout
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ETLError(f"{path}: cannot read: {e.strerror}") from None
    first = 1 if fmt.dummy else 0
    if size == 0 or size % lay.record_bytes or size // lay.record_bytes <= first:
        raise ETLError(f"{path}: size {size} bytes is not a whole number of {lay.record_bytes}-byte {fmt.name} "
                       f"records{' (plus the leading dummy record)' if fmt.dummy else ''}")
    src = _Source(path, fmt, lay, file_no, first, size // lay.record_bytes - first)
    _precheck(src)
    return src


def _precheck(src: _Source) -> None:
    """Check the dummy record and the fields of the first PRECHECK records, reading only those."""
    rb, n = src.layout.record_bytes, min(src.count, PRECHECK)
    try:
        with open(src.path, "rb") as f:
            head = f.read((src.first + n) * rb)
    except OSError as e:
        raise ETLError(f"{src.path}: cannot read: {e.strerror or e}") from None
    if src.fmt.dummy and any(head[2:4]):
        raise ETLError(f"{src.path}: record 0: expected the all-zero dummy record that starts every "
                       f"{src.fmt.name} file, found code 0x{head[2] << 8 | head[3]:04X}")
    body = head[src.first * rb:]
    meta = np.empty(n, native.META_DTYPE)
    native.decode_batch(src.fmt.rtype, body, n, np.empty((n, 1, 1), np.uint8), meta, 1)
    etlcheck.check_fields(src.path, src.fmt, meta, src.first, body)


def _frame(src: _Source, size) -> tuple[int, int]:
    return (src.layout.height, src.layout.width) if size is None else native.out_shape(size)


def _decode_into(data, src: _Source, images, meta, size, normalize: str, threads: int) -> None:
    """Decode all records of `data` (an mmap of src.path) into images / meta, `threads` record ranges at once."""
    rb = src.layout.record_bytes
    base = memoryview(data)[src.first * rb:]
    bounds = np.linspace(0, src.count, max(1, min(threads, src.count // 64 or 1)) + 1).astype(int)

    def work(k):
        a, b = bounds[k], bounds[k + 1]
        with base[a * rb:b * rb] as chunk:  # released even on error, so the mmap can close
            native.decode_batch(src.fmt.rtype, chunk, b - a, images[a:b], meta[a:b], size, normalize)

    try:
        if len(bounds) == 2:
            work(0)
        else:
            with ThreadPoolExecutor(len(bounds) - 1) as pool:
                list(pool.map(work, range(len(bounds) - 1)))
        etlcheck.check_fields(src.path, src.fmt, meta, src.first, base)
    finally:
        base.release()


def _decode_file(src: _Source, images, size, normalize: str, threads: int) -> np.ndarray:
    """Decode src into images ([src.count, H, W] view) and check every record's fields against its set;
    returns the per-record meta (native.META_DTYPE)."""
    meta = np.empty(src.count, native.META_DTYPE)
    try:
        with open(src.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if hasattr(data, "madvise"):
                data.madvise(mmap.MADV_SEQUENTIAL)
            _decode_into(data, src, images, meta, size, normalize, threads)
    except OSError as e:
        raise ETLError(f"{src.path}: cannot read: {e.strerror or e}") from None
    return meta


def _labels(src: _Source, meta: np.ndarray) -> tuple[list, list, np.ndarray]:
    """Labels, codes and no-character flags (CO-59 '▲') of every record, decoding each distinct code once."""
    uniq, inverse = np.unique(meta["code"], return_inverse=True)
    table_labels, table_codes = [], uniq.tolist()
    for i, code in enumerate(table_codes):
        try:
            table_labels.append(codes_mod.label(src.fmt.encoding, code, src.fmt.hiragana))
        except codes_mod.UnknownCode as e:
            first = int(np.flatnonzero(inverse.ravel() == i)[0])
            raise etlcheck.fail(src.path, first + src.first, f"unknown code: {e.args[0]}") from None
    inverse = inverse.ravel()
    no_char = np.array([ch == codes_mod.CO59_UNKNOWN for ch in table_labels], bool)[inverse]
    inverse = inverse.tolist()
    return [table_labels[j] for j in inverse], [table_codes[j] for j in inverse], no_char


def _writers(src: _Source, meta: np.ndarray, codes: list) -> np.ndarray:
    """Writer / data-set ids, see the module docstring."""
    sheet = meta["sheet"].astype(np.int64)
    if src.fmt.kind == "K":
        return meta["aux"].astype(np.int64) - 16  # T56 'A' = 17 (checked to be A..D)
    if src.fmt.kind == "B":
        return (sheet - 1) // src.fmt.sheets_per_set + 1
    if src.fmt.kind == "G":
        local = _data_sets(codes)
        etlcheck.check_data_sets(src.path, src.fmt, local, src.first)
        per_file = max(src.fmt.sets_per_file, int(local[-1]) + 1)
        return (src.file_no - 1) * per_file + local + 1
    return sheet


def _data_sets(codes: list) -> np.ndarray:
    """0-based data-set index of each record: a new set starts where a code repeats within the current one.

    prev[i] = position of the previous record with the same code; set k+1 starts at the first i with
    prev[i] >= start of set k. One vectorized scan per data set (4 per real ETL9G file).
    """
    c = np.asarray(codes, np.int64)
    order = np.argsort(c, kind="stable")
    same = c[order[1:]] == c[order[:-1]]
    prev = np.full(len(c), -1, np.int64)
    prev[order[1:][same]] = order[:-1][same]
    out = np.empty(len(c), np.int64)
    start, k = 0, 0
    while start < len(c):
        repeats = np.flatnonzero(prev[start:] >= start)
        end = start + int(repeats[0]) if len(repeats) else len(c)
        out[start:end] = k
        start, k = end, k + 1
    return out


def _check_args(size, normalize: str) -> None:
    if normalize not in MODES:
        raise InputError(f"normalize must be one of {MODES}, got {normalize!r}")
    if size is None and normalize != "none":
        raise InputError(f"normalize={normalize!r} needs a size (--size)")
    if size is not None:
        native.out_shape(size)  # raises ValueError for a bad size


def read(path, size=None, normalize: str = "none", threads: int = 2) -> Records:
    """Read one ETL file.

    Args:
        path: an ETL data file; its format is detected from the name (ETL1C_01 ... ETL9G_50, any case).
        size: None for raw levels at the native frame size (0 = paper .. 2^bpp-1 = darkest ink), or an int /
            (H, W) for images resized by area and scaled to 0..255 (255 = full ink).
        normalize: "none" (whole frame), "bbox" (ink bounding box, aspect kept) or "moment" (centre of mass to
            the centre, scale from second moments), or "clean-bbox" / "clean-moment" (the same after removing paper,
            noise, edge fragments and specks); see csrc/ke.h for the exact algorithm.
        threads: decoding threads over record ranges.

    Returns:
        Records with .images uint8 [N, H, W], .labels, .codes, .format, .writers.

    Raises:
        ETLError: unknown file name, size not a whole number of records, missing B-type dummy record, or a
            record that does not fit its set (kanjiedge.etlcheck: a code outside the set's character list,
            a header field out of range, a data set longer than the set); the message names file and record.
    """
    return read_many([path], size, normalize, threads)


def read_many(paths, size=None, normalize: str = "none", threads: int = 2, progress: bool = False,
              out: np.ndarray | None = None) -> Records:
    """Read several ETL files into one preallocated array (peak memory ~ the output, plus one mapped file).

    Arguments as read(); all files must share a frame size when size is None. `.format` is the format name,
    or the distinct names joined by "+". `progress` shows a tqdm bar over files (stderr). `out` (uint8
    [N, H, W], e.g. a slice of a memory-mapped .npy file) receives the images instead of a new array.
    """
    _check_args(size, normalize)
    sources = [inspect_file(p) for p in paths]
    if not sources:
        raise ETLError("no ETL files given")
    frames = {_frame(s, size) for s in sources}
    if len(frames) > 1:
        raise ETLError(f"{sources[-1].path}: frame size differs from the other files; pass size= to resize")
    images = _output(sources, frames.pop(), out)
    labels, codes, writers, no_char, start = [], [], [], [], 0
    for src in _progress(sources, progress):
        meta = _decode_file(src, images[start:start + src.count], size, normalize, threads)
        file_labels, file_codes, file_no_char = _labels(src, meta)
        labels += file_labels
        codes += file_codes
        writers.append(_writers(src, meta, file_codes))
        no_char.append(file_no_char)
        start += src.count
    names = "+".join(dict.fromkeys(s.fmt.name for s in sources))
    return Records(images, labels, codes, names, np.concatenate(writers), np.concatenate(no_char))


def _output(sources: list, frame: tuple, out: np.ndarray | None) -> np.ndarray:
    """The image array to decode into: `out` (checked) or a new one; one clear error when memory runs out."""
    total = sum(s.count for s in sources)
    if out is not None:
        if out.shape != (total, *frame) or out.dtype != np.uint8:
            raise ValueError(f"out must be uint8 {(total, *frame)}, got {out.dtype} {out.shape}")
        return out
    try:
        return np.empty((total, *frame), np.uint8)
    except MemoryError:
        names = str(sources[0].path) + (f" (and {len(sources) - 1} more files)" if len(sources) > 1 else "")
        raise ETLError(f"{names}: {total:,} records of {frame[0]}x{frame[1]} pixels need "
                       f"{total * frame[0] * frame[1] / 2**30:.1f} GiB of memory, more than is free") from None


def _progress(items, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="decode ETL", unit="file", file=sys.stderr)


def read_record(path, index: int, size=None, normalize: str = "none") -> tuple[np.ndarray, str, int]:
    """Image, label and code of record `index` (0-based, as in read()) without decoding the whole file."""
    _check_args(size, normalize)
    src = inspect_file(path)
    if not 0 <= index < src.count:
        raise ETLError(f"{src.path}: record index {index} out of range (file has {src.count} records)")
    one = _Source(src.path, src.fmt, src.layout, src.file_no, src.first + index, 1)
    images = np.empty((1, *_frame(src, size)), np.uint8)
    meta = _decode_file(one, images, size, normalize, 1)
    labels, codes, _ = _labels(one, meta)
    return images[0], labels[0], codes[0]


# ---------------------------------------------------------------------------------------------- command line


def _expand(paths) -> list[Path]:
    """Files as given; folders replaced by the ETL data files in them (INFO files skipped)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.name.upper().startswith("ETL")
                          and "INFO" not in q.name.upper())
        else:
            out.append(p)
    return out


def _info(paths) -> int:
    files = _expand(paths)
    if not files:
        raise ETLError(f"{' '.join(map(str, paths))}: no ETL files found")
    rows, all_classes, all_writers = [], set(), set()
    for p in files:
        recs = read(p, size=8)  # labels/writers need a full pass; tiny images keep it cheap
        classes, writers = set(np.array(recs.labels, object)[~recs.no_char]), set(recs.writers.tolist())
        rows.append((str(p), recs.format, len(recs), len(classes), len(writers), int(recs.no_char.sum())))
        all_classes |= classes
        all_writers |= {(recs.format, w) for w in writers}
    width = max(len(r[0]) for r in rows + [("total",)])
    print(f"{'file':<{width}}  {'format':<7} {'records':>9} {'classes':>8} {'writers':>8} {'no char':>8}")
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:<7} {r[2]:>9,} {r[3]:>8,} {r[4]:>8,} {r[5]:>8,}")
    print(f"{'total':<{width}}  {'':<7} {sum(r[2] for r in rows):>9,} {len(all_classes):>8,} "
          f"{len(all_writers):>8,} {sum(r[5] for r in rows):>8,}")
    return 0


def _to_picture(img: np.ndarray, scaled: bool, max_level: int) -> np.ndarray:
    """Black ink on white: 255 - level * 255 / max level."""
    v = img.astype(np.int32) if scaled else img.astype(np.int32) * 255 // max_level
    return (255 - v).astype(np.uint8)


def _show(args) -> int:
    import cv2

    from kanjiedge.atomic import write_bytes

    img, label, code = read_record(args.path, args.index, args.size, args.normalize)
    src = inspect_file(args.path)
    ok, png = cv2.imencode(".png", _to_picture(img, args.size is not None, src.layout.max_level))
    if not ok:
        raise ETLError(f"{args.out}: PNG encoding failed")
    write_bytes(outputs.check_file(args.out, "etl show", [args.path]), outputs.mark_png(png.tobytes(), "etl show"))
    print(f"{args.path} record {args.index}: {label} (code 0x{code:X}, {src.fmt.name}) -> {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kanjiedge etl", description="Inspect ETL Character Database files.")
    sub = p.add_subparsers(dest="cmd", required=True)
    info = sub.add_parser("info", help="format, records, classes, writers and no-character records (ETL2 '▲') "
                                      "per file and in total")
    info.add_argument("paths", nargs="+", metavar="PATH", help="ETL files or folders holding them")
    show = sub.add_parser("show", help="write one record as a PNG (black ink on white)")
    show.add_argument("path", metavar="PATH", help="an ETL file (e.g. ETL9G_01)")
    show.add_argument("--index", type=int, required=True, help="0-based record index (B-type dummy excluded)")
    show.add_argument("--out", required=True, help="output PNG path")
    show.add_argument("--size", type=int, default=None, help="resize to SIZE x SIZE (default: native frame)")
    show.add_argument("--normalize", choices=MODES, default="none", help="normalization (needs --size)")
    return p


def cli(argv: list[str]) -> int:
    """`kanjiedge etl info PATH...` / `kanjiedge etl show PATH --index N --out x.png`."""
    args = _parser().parse_args(argv)
    if args.cmd == "info":
        return _info(args.paths)
    return _show(args)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
