"""The real-scan profile table (../shared/real-etl-profile.md) for the synthetic writer's output, next to the real
numbers, so the remaining gap is visible; also the writer's speed.

    python -m bench.bench_profile [--writers 16] [--seed 0] [--realism scan] [--jobs 1] \
        [--measure DIR=TITLE ...] [--out artifacts/reports/profile.md]

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--realism", choices=synth.REALISM, default="scan")
    p.add_argument("--jobs", type=int, default=1, help="writer processes (the speed column is for this many)")
    p.add_argument("--sets", default=None, help="comma-separated formats to include (default: all of SETS)")
    p.add_argument("--measure", action="append", default=[], metavar="DIR=TITLE", help="extra column from files")
    p.add_argument("--out", default=None, help="also write the tables (markdown) here")
    a = p.parse_args(argv)
    columns, speed = {}, []
    for title, fmt, chars in SETS:
        if a.sets and fmt not in a.sets.split(","):
            continue
        summary, rate, n = synthetic_column(fmt, chars, a.writers, a.seed, a.realism, a.jobs)
        columns[title] = summary
        speed.append(f"| {title} | {n} | {rate:.0f} |")
        print(f"{title}: {n} records, {rate:.0f} records/s", file=sys.stderr)
    for spec in a.measure:
        title, summary = files_column(spec)
        columns[title] = summary
    text = (scanstats.table({**scanstats.REAL, **columns}) + f"\n| set ({a.writers} writers, seed {a.seed}, "
            f"realism {a.realism}, {a.jobs} process(es)) | records | records/s |\n|---|---|---|\n" + "\n".join(speed)
            + "\n")
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
