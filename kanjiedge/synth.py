"""Synthetic ETL writer: renders characters from KanjiVG strokes in per-writer handwriting styles that look like
real ETL scans, and writes genuine ETL files (every record type the decoder reads), because the real ETL data may
not be redistributed.

    kanjiedge synth --format etl9g --writers 16 --seed 0 --out artifacts/synth/sets/etl9g
    kanjiedge synth --format etl8g --writers 16 --chars hiragana --out /tmp/etl8g-kana
    kanjiedge synth --format etl1 --writers 3 --chars 10 --realism clean --out /tmp/etl1

The writer is four modules by what they do: kanjiedge.synth_style (how records of a set look, each writer's
habits), kanjiedge.synth_strokes (stroke geometry: jitter, hooks, joins, trims, pressure parts),
kanjiedge.synth_render (drawing, neighbour fragments, paper and scanner, quantization) and
kanjiedge.synth_records (record bytes). This module plans and writes the files and holds the command line.
`python -m bench.bench_profile` compares the output with the statistics of real scans
(../shared/real-etl-profile.md).

Each writer ("data set" in ETL terms) has a style drawn from the seed; every sample adds its own smaller
variation. Randomness is seeded per (seed, writer, character), so output does not depend on process scheduling.
`--realism clean` (or `write(..., realism="clean")`) keeps the writers and layout but drops the scan effects:
white paper, full ink, no neighbour fragments.

File layout (documented simplifications of the real sets, see docs/etl-format.md):
* every format is written data-set-major: writer 1's whole sheet, then writer 2's ...; records of a data set
  follow kanjiedge.charsets order. ETL9G: 4 data sets (12,144 records) per `ETL9G_NN`, ETL8G: 5 per `ETL8G_NN`;
  when the writer count is not a multiple of that, the last file holds the remaining data sets (fewer records).
* sheet numbers are global: data set d (1-based) uses sheets 20(d-1)+1 .. 20d (ETL8: 10 sheets per set), as in
  ETL9B. M- and C-type records carry the writer's sheet number directly (one sheet per writer, 1001, 1002...).
* B-type files (ETL8B2C1, ETL9B_1) start with the all-zero dummy record; their images are the G-type rendering
  binarised and halved to 64x63, as ETL9B was made from ETL9G.
* K-type (ETL2) is printed type: the same renderer with a fixed pen and little jitter, 6-bit levels; writer w
  gets the style mark "ABCD"[w % 4] (ETL2's "writers" are typefaces/sources).
"""

import argparse
import math
import multiprocessing as mp
import os
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from kanjiedge import charsets, formats, outputs
from kanjiedge.errors import UserError
from kanjiedge.synth_records import Sample, encode, romaji  # noqa: F401  (the writer's public names)
from kanjiedge.synth_render import binarize_half, glyph_levels, quantize, render  # noqa: F401
from kanjiedge.synth_strokes import geometry
from kanjiedge.synth_style import REALISM, Style, writer_style  # noqa: F401

_CHUNK = 192  # glyphs per worker task

# The layouts, file names and data-set structure live in kanjiedge.formats (one table for reader and writer);
# the names stay importable from here.
Format, FORMATS, get_format = formats.Format, formats.FORMATS, formats.get_format

SCRIPTS = {  # named subsets for `--chars`: which characters of a set each name picks
    "hiragana": lambda ch: "ぁ" <= ch <= "ゖ",
    "katakana": lambda ch: "ァ" <= ch <= "ヺ",
    "kanji": lambda ch: ord(ch) >= 0x4E00,
    "digits": str.isdigit,
    "latin": lambda ch: ch.isascii() and ch.isalpha(),
    "kana": lambda ch: "ぁ" <= ch <= "ヺ" or ch in "゛゜ー",
    "symbols": lambda ch: not ch.isalnum() and ch not in "゛゜ー",
}


def select_chars(cs: charsets.Charset, chars=None) -> charsets.Charset:
    """kanjiedge.charsets.select, plus script names ("hiragana", "katakana", "kanji", "digits", "latin", "kana";
    several joined by "+") that pick those characters of the set.

    Raises:
        UserError: a name that picks nothing from this set (or what charsets.select raises).
    """
    if isinstance(chars, str) and chars and all(part in SCRIPTS for part in chars.split("+")):
        tests = [SCRIPTS[part] for part in chars.split("+")]
        picked = "".join(ch for ch in cs.chars if any(t(ch) for t in tests))
        if not picked:
            raise UserError(f"--chars {chars}: no such characters in the {cs.name} character set")
        chars = picked
    return charsets.select(cs, chars)


def render_chunk(task) -> bytes:
    """Worker: render and encode a list of samples -> concatenated records."""
    fmt_key, seed, realism, items = task
    fmt = FORMATS[fmt_key]
    return b"".join(encode(fmt, s, glyph_levels(fmt, seed, s, realism)) for s in items)


# ---------------------------------------------------------------- files

def _sheet(fmt: Format, writer: int, index: int, n: int) -> int:
    if fmt.kind in "GB":  # global sheets: data set d uses sheets spd*(d-1)+1 .. spd*d
        return fmt.sheets_per_set * writer + 1 + index * fmt.sheets_per_set // n
    return 1001 + writer  # M/C: one sheet per writer; K: a frame-group number


def plan_files(fmt: Format, writers: int) -> list[tuple[str, range]]:
    """[(file name, writers in it)], data-set-major; the last file holds the remainder."""
    n_files = max(1, math.ceil(writers / fmt.sets_per_file))
    if "{i" not in fmt.file_pattern and n_files > 1:
        raise UserError(f"{fmt.name} is a single file; at most {fmt.sets_per_file} writers")
    return [(fmt.file_pattern.format(i=k + 1), range(k * fmt.sets_per_file, min((k + 1) * fmt.sets_per_file,
                                                                                  writers)))
            for k in range(n_files)]


def samples(fmt: Format, cs: charsets.Charset, writer: int) -> list[Sample]:
    """The records writer `writer` (0-based) contributes: one Sample per character of `cs`, in sheet order."""
    n = len(cs)
    return [Sample(code, ch, writer, i, writer * n + i + 1, _sheet(fmt, writer, i, n))
            for i, (code, ch) in enumerate(zip(cs.codes, cs.chars))]


def _tasks(fmt_key: str, seed: int, realism: str, cs: charsets.Charset, writers: range):
    for w in writers:
        items = samples(FORMATS[fmt_key], cs, w)
        for k in range(0, len(items), _CHUNK):
            yield fmt_key, seed, realism, items[k:k + _CHUNK]


def write(fmt_name: str, writers: int, seed: int, out, chars=None, jobs: int | None = None,
          progress: bool = True, realism: str = "scan") -> list[Path]:
    """Render `writers` data sets of a format and write them as ETL files into `out`.

    Args:
        fmt_name: "etl9g", "etl8g", "etl9b", "etl8b2", "etl1", "etl2", ... (see FORMATS).
        writers: number of writers (data sets), >= 1.
        seed: random seed; the same seed gives byte-identical files.
        out: output folder (created); each file is written to a temporary name and renamed when complete.
        chars: None, N, a string of characters (kanjiedge.charsets.select) or script names (select_chars).
        jobs: worker processes (default: all cores).
        progress: show a tqdm bar on stderr.
        realism: "scan" (the look of real scans of this record type) or "clean" (kanjiedge.synth_style.look_for).

    Returns:
        Paths of the files written, in order.
    """
    fmt = get_format(fmt_name)
    if writers < 1:
        raise UserError(f"--writers must be >= 1 (got {writers})")
    if realism not in REALISM:
        raise UserError(f"--realism must be one of {', '.join(REALISM)} (got {realism!r})")
    cs = select_chars(charsets.charset(fmt.charset), chars)
    plan = plan_files(fmt, writers)
    out = outputs.claim(out, "synth")
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs > 1:
        for ch in cs.chars:  # parse before forking so the workers share one cache
            geometry(ch)
    from tqdm import tqdm

    bar = tqdm(total=writers * len(cs), unit="glyph", desc=f"synth {fmt.name}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    pool = mp.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        paths = [_write_file(out / name, fmt, (seed, realism), cs, group, pool, bar) for name, group in plan]
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    _remove_stale(out, fmt, {p.name for p in paths})
    return paths


def _write_file(path: Path, fmt: Format, how: tuple, cs, group: range, pool, bar) -> Path:
    """Write one ETL file atomically (temporary sibling, then rename); `how` = (seed, realism)."""
    from kanjiedge.atomic import atomic_path

    tasks = _tasks(fmt.name.lower(), *how, cs, group)
    chunks = pool.imap(render_chunk, tasks) if pool is not None else map(render_chunk, tasks)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if fmt.kind == "B":
            f.write(b"\0" * fmt.record)  # the leading dummy record of B-type files
        for chunk in chunks:
            f.write(chunk)
            bar.update(len(chunk) // fmt.record)
    return path


def _remove_stale(out: Path, fmt: Format, keep: set):
    """Drop files of this format left by an earlier run with more writers (they would be read as data)."""
    prefix = fmt.file_pattern.split("{")[0]
    for p in out.glob(prefix + "*"):
        if p.name not in keep and p.is_file() and re.fullmatch(re.escape(prefix) + r"\d+", p.name):
            p.unlink()


def preview(paths, png, chars: int = 12, writers: int = 8) -> Path:
    """Save a grid of stored samples (rows = writers, columns = characters, black ink on white) as a PNG.

    Reads the records back with kanjiedge.etl, so the picture shows exactly what the files hold.
    """
    from kanjiedge import etl
    from kanjiedge.atomic import write_bytes

    recs = etl.read_many(paths)
    top = int(recs.images.max()) or 1
    per_set = len(set(recs.codes))
    n_sets = len(recs) // per_set
    cols = np.linspace(0, per_set - 1, min(chars, per_set)).round().astype(int)
    rows = np.linspace(0, n_sets - 1, min(writers, n_sets)).round().astype(int)
    tiles = [[255 - recs.images[r * per_set + c].astype(np.int32) * 255 // top for c in cols] for r in rows]
    grid = np.vstack([np.hstack([np.pad(t, 1, constant_values=160) for t in row]) for row in tiles])
    ok, data = cv2.imencode(".png", grid.astype(np.uint8))
    write_bytes(outputs.check_file(png, "synth", paths), outputs.mark_png(data.tobytes(), "synth"))
    return Path(png)


# ---------------------------------------------------------------- CLI

def _chars_arg(text: str):
    return int(text) if text.isdigit() else text


def cli(argv: list[str]) -> int:
    """`kanjiedge synth`: write synthetic ETL files."""
    p = argparse.ArgumentParser(prog="kanjiedge synth", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="formats: " + ", ".join(f"{k} ({f.kind}-type)" for k, f in FORMATS.items()))
    p.add_argument("--format", default="etl9g", choices=sorted(FORMATS), help="ETL database to imitate")
    p.add_argument("--writers", type=int, default=16, help="writers (data sets) to render (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> identical files)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--chars", type=_chars_arg, default=None,
                   help="subset: N (N characters spread over the set), a string of characters, or script names "
                        f"({', '.join(SCRIPTS)}; join several with +) (default: all)")
    p.add_argument("--realism", choices=REALISM, default="scan",
                   help="scan: the look of real scans (neighbour fragments, grey paper for M-type sets); "
                        "clean: white paper, full ink, no fragments (default: scan)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--preview", metavar="PNG", default=None,
                   help="also save a grid of samples (writers x characters) read back from the files")
    a = p.parse_args(argv)
    if a.preview:
        outputs.check_file(a.preview, "synth")  # before the rendering, not after it
    t0 = time.perf_counter()
    paths = write(a.format, a.writers, a.seed, a.out, a.chars, a.jobs, not a.no_progress, a.realism)
    n = a.writers * len(select_chars(charsets.charset(get_format(a.format).charset), a.chars))
    dt = time.perf_counter() - t0
    print(f"wrote {len(paths)} file(s), {n} glyphs to {a.out} in {dt:.1f} s ({n / dt:.0f} glyphs/s)")
    if a.preview:
        print(f"preview: {preview(paths, a.preview)}")
    return 0
