"""Synthetic ETL9G files in the scan look with the neighbours' edge fragments and specks removed
(kanjiedge.scanstats.character_mask): a stand-in for what a normalizer that drops edge fragments lets a model see,
to measure what the scan look costs once fragments are dealt with (BENCHMARKS.md, synthetic writer section).

    python -m bench.fragment_free OUT [--writers 16] [--seed 0] [--chars 300]

Same writers, seed, characters and file layout as `kanjiedge synth --format etl9g` with those options; only the
pixels outside the character are set to paper (0).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from kanjiedge import charsets, scanstats, synth


def write(out, writers: int, seed: int, chars) -> list[Path]:
    """ETL9G files like synth.write(..., realism="scan"), fragments removed; returns their paths."""
    fmt = synth.get_format("etl9g")
    cs = synth.select_chars(charsets.charset(fmt.charset), chars)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, group in synth.plan_files(fmt, writers):
        records = []
        for s in (s for w in group for s in synth.samples(fmt, cs, w)):
            levels = synth.glyph_levels(fmt, seed, s)
            records.append(synth.encode(fmt, s, np.where(scanstats.character_mask(levels, 15), levels, 0)
                                        .astype(np.uint8)))
        (out / name).write_bytes(b"".join(records))
        paths.append(out / name)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chars", type=lambda t: int(t) if t.isdigit() else t, default=300)
    a = p.parse_args(argv)
    print(f"wrote {len(write(a.out, a.writers, a.seed, a.chars))} file(s) to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
