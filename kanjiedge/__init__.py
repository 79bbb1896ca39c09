"""kanjiedge: ETL Character Database -> handwritten Japanese character recognizers for edge devices."""

import os

__version__ = "0.1.0"

# PyTorch's OpenMP threads spin while they wait for work. Next to another CPU-heavy job on a small machine the
# spinning threads take the cores the work needs: two 2-thread trainers side by side ran 2.4x slower per step with
# spinning than with sleeping waits; alone on a quiet machine the two are within noise (bench/bench_shared_cpu.py,
# BENCHMARKS.md).
# Set before anything in this package imports torch; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
