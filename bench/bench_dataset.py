"""`kanjiedge dataset` end to end against its decoder (`etl.read_many`), on an ETL9G-sized input, in one run.

    python -m bench.bench_dataset [--rounds 3] [--files 50]

Input: ETL9G_01..50 = 607,200 records, hard links to one synthetic ETL9G file (bench.bench_decode makes and caches
it), each still mapped, decoded, checked and hashed in full. Each round runs, in fresh processes one after the
other (interleaved, so both see the same machine load):
  decoder:  `python -m bench.bench_decode --child FOLDER --normalize MODE`  (etl.read_many, 2 threads)
  dataset:  `python -m kanjiedge dataset --etl-dir FOLDER --out FOLDER/../ds --no-progress`
with MODE = the dataset's default normalization, so the two do the same decoding whatever that default is.
Whole-process wall time (Python start-up included) and CPU time (user + sys of the child) are measured from here;
the ratio dataset / decoder per round, its median, and records/s go to artifacts/reports/dataset_bench.json.
Target (issue 9 §7): dataset within 2x of the decoder.

Everything is made in a fresh temporary folder under artifacts/bench/ (the links, the dataset output) and only
that folder is removed at the end.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_decode import RECORDS, ROOT, synthetic_etl9g
from kanjiedge import dataset

REPORT = ROOT / "artifacts" / "reports" / "dataset_bench.json"
TARGET_RATIO = 2.0


def _timed(cmd: list) -> dict:
    """Run cmd to completion; wall seconds and the child's CPU seconds (user + sys)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return {"seconds": wall, "cpu_s": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            "stdout": proc.stdout.strip().splitlines()[-1:]}


def _link_files(source: Path, folder: Path, files: int) -> None:
    folder.mkdir()
    for k in range(1, files + 1):
        os.link(source, folder / f"ETL9G_{k:02d}")


def _round(etl_dir: Path, out: Path, mode: str) -> dict:
    decoder = _timed([sys.executable, "-m", "bench.bench_decode", "--child", str(etl_dir), "--normalize", mode])
    built = _timed([sys.executable, "-m", "kanjiedge", "dataset", "--etl-dir", str(etl_dir), "--out", str(out),
                    "--no-progress"])
    samples = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]["samples"]
    shutil.rmtree(out)  # made by this round's dataset command
    return {"decoder": decoder, "dataset": built, "samples": samples,
            "ratio_wall": built["seconds"] / decoder["seconds"], "ratio_cpu": built["cpu_s"] / decoder["cpu_s"]}


def run(rounds: int, files: int) -> dict:
    source = synthetic_etl9g()
    mode = dataset.DEFAULTS["normalize"]
    parent = ROOT / "artifacts" / "bench"
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dataset-bench-", dir=parent))
    try:
        _link_files(source, work / "etl", files)
        results = [_round(work / "etl", work / "ds", mode) for _ in range(rounds)]
    finally:
        shutil.rmtree(work)  # the folder this run created, with only the links and outputs made in it
    records = files * RECORDS
    best = {k: min(r[k]["seconds"] for r in results) for k in ("decoder", "dataset")}
    return {"command": f"python -m bench.bench_dataset --rounds {rounds} --files {files}", "records": records,
            "normalize": mode, "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "rounds": results,
            "ratio_wall_median": statistics.median(r["ratio_wall"] for r in results),
            "ratio_cpu_median": statistics.median(r["ratio_cpu"] for r in results),
            "ratio_best_wall": best["dataset"] / best["decoder"],
            "decoder_records_per_s": records / best["decoder"], "dataset_records_per_s": records / best["dataset"],
            "target_ratio": TARGET_RATIO}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_dataset", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="interleaved decoder/dataset rounds (default 3)")
    p.add_argument("--files", type=int, default=50, help="ETL9G files of 12,144 records (default 50 = 607,200)")
    p.add_argument("--out", type=Path, default=REPORT, help="JSON report path")
    a = p.parse_args(argv)
    report = run(a.rounds, a.files)
    for i, r in enumerate(report["rounds"]):
        print(f"round {i + 1}: decoder {r['decoder']['seconds']:.2f} s (CPU {r['decoder']['cpu_s']:.2f}), dataset "
              f"{r['dataset']['seconds']:.2f} s (CPU {r['dataset']['cpu_s']:.2f}) -> {r['ratio_wall']:.2f}x wall, "
              f"{r['ratio_cpu']:.2f}x CPU")
    print(f"{report['records']:,} records ({report['normalize']}): decoder {report['decoder_records_per_s']:,.0f} "
          f"rec/s, dataset {report['dataset_records_per_s']:,.0f} rec/s (best runs); dataset / decoder: median "
          f"{report['ratio_wall_median']:.2f}x wall, {report['ratio_cpu_median']:.2f}x CPU (target <= "
          f"{TARGET_RATIO}x; load {report['load_avg_1m']:.1f})")
    from kanjiedge.atomic import write_json

    write_json(a.out, report)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
