"""The real-scan profile table (../shared/real-etl-profile.md) for the synthetic writer's output, next to the real
numbers, so the remaining gap is visible; also the writer's speed.

    python -m bench.bench_profile [--writers 16] [--seed 0] [--realism scan] [--jobs 1] \
        [--measure DIR=TITLE ...] [--out artifacts/reports/profile.md] [--speed [--baseline MODULE]]

Writes each set below with `kanjiedge.synth.write` into a temporary folder (timed: records/s with --jobs worker
processes), reads the files back with kanjiedge.etl at their stored levels and measures every record with
kanjiedge.scanstats. The real columns are measured on handwritten hiragana (ETL9G) and katakana (ETL1), so the
synthetic sets they are compared with hold the same scripts. `--measure DIR=TITLE` adds a column for ETL files
already on disk (e.g. an older writer's output, or real files you have).
"""

import argparse
import sys
import tempfile
import time
from dataclasses import astuple
from pathlib import Path

from kanjiedge import charsets, scanstats, synth

# (column title, format, --chars): what each synthetic column holds
SETS = [
    ("ETL9G hiragana (synthetic)", "etl9g", "hiragana"),
    ("ETL9G kanji, every 15th (synthetic)", "etl9g", None),
    ("ETL8G hiragana (synthetic)", "etl8g", "hiragana"),
    ("ETL6 katakana (synthetic)", "etl6", "katakana"),
    ("ETL7 hiragana (synthetic)", "etl7", "hiragana"),
]


def _chars(fmt: str, chars):
    if chars is None:  # every 15th kanji of the set: ~200 characters spread over the JIS order
        kanji = synth.select_chars(charsets.charset(synth.get_format(fmt).charset), "kanji").chars
        return "".join(kanji[::15])
    return chars


def synthetic_column(fmt: str, chars, writers: int, seed: int, realism: str, jobs: int) -> tuple[dict, float, int]:
    """(summary, records/s of writing, records) of one synthetic set."""
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        t0 = time.perf_counter()
        paths = synth.write(fmt, writers, seed, tmp, chars=_chars(fmt, chars), jobs=jobs, progress=False,
                            realism=realism)
        dt = time.perf_counter() - t0
        _, summary, n = scanstats.measure_files(paths)
    return summary, n / dt, n


def files_column(spec: str) -> tuple[str, dict]:
    """--measure DIR=TITLE -> (title, summary) of the ETL files under DIR."""
    from kanjiedge import dataset

    folder, _, title = spec.partition("=")
    sources, _ = dataset.find_sources(folder)
    _, summary, n = scanstats.measure_files([s.path for s in sources])
    return f"{title or folder} ({n} records)", summary


def speed_table(baseline: str | None, rounds: int = 3, writers: int = 4) -> str:
    """Glyphs per CPU-second of `glyph_levels` (render + quantize, no file I/O) on every 12th ETL9G character
    (kanji and hiragana) for `writers` writers, scan and clean look, interleaved `rounds` times with `baseline`: an
    importable module with the old writer's API (glyph_levels(fmt, seed, sample), Sample), e.g. the writer of an
    earlier commit saved with `git show COMMIT:kanjiedge/synth.py > /tmp/old_synth.py` (then PYTHONPATH=/tmp)."""
    import importlib

    fmt = synth.get_format("etl9g")
    full = charsets.charset("ETL9G")
    cs = charsets.select(full, "".join(full.chars[::12]))
    items = [s for w in range(writers) for s in synth.samples(fmt, cs, w)]
    for ch in cs.chars:
        synth.geometry(ch)
    runs = {"scan": lambda s: synth.glyph_levels(fmt, 0, s), "clean": lambda s: synth.glyph_levels(fmt, 0, s, "clean")}
    if baseline:
        old = importlib.import_module(baseline)
        old_items = {id(s): old.Sample(*astuple(s)) for s in items}
        runs["baseline " + baseline] = lambda s: old.glyph_levels(fmt, 0, old_items[id(s)])
    rates = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.process_time()
            for s in items:
                fn(s)
            rates[name].append(len(items) / (time.process_time() - t0))
    rows = [f"| {name} | {len(items)} | {min(r):.0f} / {sorted(r)[len(r) // 2]:.0f} / {max(r):.0f} |"
            for name, r in rates.items()]
    return ("| writer (glyph_levels, 1 process) | glyphs | glyphs per CPU-s: min / median / max of "
            f"{rounds} |\n|---|---|---|\n" + "\n".join(rows) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--realism", choices=synth.REALISM, default="scan")
    p.add_argument("--jobs", type=int, default=1, help="writer processes (the speed column is for this many)")
    p.add_argument("--sets", default=None, help="comma-separated formats to include (default: all of SETS)")
    p.add_argument("--measure", action="append", default=[], metavar="DIR=TITLE", help="extra column from files")
    p.add_argument("--out", default=None, help="also write the tables (markdown) here")
    p.add_argument("--speed", action="store_true", help="also time the writer per CPU-second (see speed_table())")
    p.add_argument("--baseline", default=None, metavar="MODULE", help="with --speed: an older writer to compare")
    a = p.parse_args(argv)
    columns, rates = {}, []
    for title, fmt, chars in SETS:
        if a.sets and fmt not in a.sets.split(","):
            continue
        summary, rate, n = synthetic_column(fmt, chars, a.writers, a.seed, a.realism, a.jobs)
        columns[title] = summary
        rates.append(f"| {title} | {n} | {rate:.0f} |")
        print(f"{title}: {n} records, {rate:.0f} records/s", file=sys.stderr)
    for spec in a.measure:
        title, summary = files_column(spec)
        columns[title] = summary
    text = (scanstats.table({**scanstats.REAL, **columns}) + f"\n| set ({a.writers} writers, seed {a.seed}, "
            f"realism {a.realism}, {a.jobs} process(es)) | records | records/s |\n|---|---|---|\n" + "\n".join(rates)
            + "\n")
    if a.speed:
        text += "\n" + speed_table(a.baseline)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
