"""Paired latency: is model A slower than model B, in a way machine noise cannot fake or hide?

A and B are timed in interleaved rounds (A B, then B A, ... so a load change during the measurement hits both
alike). Each round gives one ratio p50(A) / p50(B); the rounds' log-ratios give a Student-t confidence interval.
A budget "A may be at most L times B" is broken only when the whole interval lies above L: a busy machine widens
the interval instead of flipping the verdict, and a genuinely slower A still breaks it (its interval sits above).
"""

import math

import numpy as np

LEVEL = 0.99  # two-sided confidence of the interval: a true ratio at the limit fails one build in 200
# Student t quantiles for LEVEL (0.995 one-sided) by degrees of freedom; a df between two keys takes the lower key
# (its larger quantile: a slightly wider, conservative interval).
T995 = {1: 63.657, 2: 9.925, 3: 5.841, 4: 4.604, 5: 4.032, 6: 3.707, 7: 3.499, 8: 3.355, 9: 3.250, 10: 3.169,
        12: 3.055, 15: 2.947, 20: 2.845, 30: 2.750, 60: 2.660, 120: 2.617}


def t_quantile(df: int) -> float:
    """The 0.995 quantile of Student's t with `df` degrees of freedom (conservative between table entries)."""
    return T995[max(k for k in T995 if k <= df)]


def ratio_interval(ratios) -> dict:
    """{"ratio", "ci": [lo, hi], "rounds"}: geometric mean of per-round ratios and its LEVEL t-interval."""
    logs = np.log(np.asarray(ratios, dtype=np.float64))
    n, mean = len(logs), float(logs.mean())
    if n < 2:
        return {"ratio": math.exp(mean), "ci": [0.0, math.inf], "rounds": n}
    half = t_quantile(n - 1) * float(logs.std(ddof=1)) / math.sqrt(n)
    return {"ratio": math.exp(mean), "ci": [math.exp(mean - half), math.exp(mean + half)], "rounds": n}


def _summary(rs):
    return {k: float(np.median([r[k] for r in rs])) for k in ("p50_ms", "p95_ms")}


def interleaved_rounds(sess, ref, x1, rounds, per, warmup=3):
    """Per-round `Session.latency` dicts of sess and ref (ref may be None), timed A B, B A, A B, ... so that a
    load change hits both sides of a round alike. Returns (sess rounds, ref rounds)."""
    a, b = [], []
    for i in range(rounds):
        order = [(sess, a), (ref, b)] if i % 2 == 0 else [(ref, b), (sess, a)]
        for s, into in order:
            if s is not None:
                into.append(s.latency(x1, runs=per, warmup=warmup))
    return a, b


def paired_latency(sess, ref, x1, runs, rounds=10, warmup=3):
    """Latency of `sess` and, when `ref` is given, of `sess` relative to `ref`, in interleaved rounds.

    Args:
        sess, ref: kanjiedge.export.base.Session objects (ref may be None: then only sess is timed).
        x1: the input (batch 1).
        runs: timed runs per model in all (split over the rounds, at least 5 per round).
        rounds: A/B rounds; each gives one ratio.

    Returns:
        (sess {"p50_ms", "p95_ms"}, ref's or None, ratio_interval(...) or None); latencies are medians over rounds.
    """
    a, b = interleaved_rounds(sess, ref, x1, rounds, max(5, runs // rounds), warmup)
    if ref is None:
        return _summary(a), None, None
    ratios = [ra["p50_ms"] / rb["p50_ms"] for ra, rb in zip(a, b)]
    return _summary(a), _summary(b), ratio_interval(ratios)


def within(interval: dict, limit: float) -> bool:
    """False only when the whole interval lies above `limit` (the evidence says: slower than allowed)."""
    return interval["ci"][0] <= limit
