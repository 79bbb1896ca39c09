"""Training speed on a shared machine: OpenMP spin-waiting (ACTIVE) vs sleeping waits (PASSIVE, what kanjiedge
sets, see kanjiedge/__init__.py), with the machine quiet and with a second trainer running beside it.

    python -m bench.bench_shared_cpu [--rounds 3] [--steps 30]

Each measurement is a fresh process that trains a small conv net (batch 64, 32x32, 100 classes, all cores) and
prints its mean ms per step; "shared" starts two such processes at once. Policies alternate round by round
(interleaved), and the report gives the per-round ratio ACTIVE / PASSIVE (> 1: PASSIVE is faster) with its range.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

STEP = r"""
import os, sys, time, torch
m = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3, padding=1),
                        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 100))
opt = torch.optim.SGD(m.parameters(), 0.1)
x, y = torch.randn(64, 1, 32, 32), torch.randint(0, 100, (64,))
def step():
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
for _ in range(3): step()
t = time.perf_counter()
for _ in range(int(sys.argv[1])): step()
print((time.perf_counter() - t) / int(sys.argv[1]) * 1000)
"""


def run(policy: str, copies: int, steps: int) -> float:
    """Mean ms/step over `copies` trainers started together under OMP_WAIT_POLICY=policy."""
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    procs = [subprocess.Popen([sys.executable, "-c", STEP, str(steps)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(copies)]
    return statistics.mean(float(p.communicate()[0]) for p in procs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    a = p.parse_args(argv)
    report = {}
    for name, copies in (("quiet", 1), ("shared", 2)):
        ratios, ms = [], {"ACTIVE": [], "PASSIVE": []}
        for r in range(a.rounds):
            order = ("ACTIVE", "PASSIVE") if r % 2 == 0 else ("PASSIVE", "ACTIVE")
            got = {pol: run(pol, copies, a.steps) for pol in order}
            for pol in got:
                ms[pol].append(got[pol])
            ratios.append(got["ACTIVE"] / got["PASSIVE"])
        report[name] = {"trainers": copies, "ms_per_step": {k: statistics.median(v) for k, v in ms.items()},
                        "active_over_passive": {"median": statistics.median(ratios), "min": min(ratios),
                                                "max": max(ratios)}}
        r = report[name]["active_over_passive"]
        print(f"{name:>6} ({copies} trainer{'s' * (copies > 1)}): ms/step ACTIVE {report[name]['ms_per_step']['ACTIVE']:.0f}"
              f", PASSIVE {report[name]['ms_per_step']['PASSIVE']:.0f}; ACTIVE/PASSIVE {r['median']:.2f}x "
              f"(rounds {r['min']:.2f}..{r['max']:.2f}, {os.cpu_count()} cores)")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
