"""Budgets and sanity: the profile's limits (size, accuracy drop, latency, agreement) and the check that the model
is clearly better than guessing on the data it is verified on.

The latency-ratio budget is judged on the confidence interval of `kanjiedge.export.latency` (broken only when the
whole interval is above the limit), so a busy machine cannot fail a build whose int8 model is not slower.
"""

import math

from kanjiedge.export.latency import within
from kanjiedge.profile import TargetProfile

CHANCE_Z = 3.0  # accuracy must exceed chance by this many binomial standard deviations (one-sided p ~ 0.001)


def above_chance(accuracy: float, n: int, n_classes: int) -> dict:
    """{"accuracy", "n", "chance", "needs", "ok"}: is top-1 `accuracy` on `n` images clearly above 1/n_classes?"""
    p0 = 1.0 / max(1, n_classes)
    needs = p0 + CHANCE_Z * math.sqrt(p0 * (1 - p0) / max(1, n))
    return {"accuracy": accuracy, "n": n, "chance": p0, "needs": needs, "ok": accuracy > needs}


def chance_failure(check: dict, target: str) -> str | None:
    """One line when the model is not clearly above chance (untrained, or verified on the wrong data)."""
    if check["ok"]:
        return None
    return (f"{target}: fp32 top-1 {check['accuracy'] * 100:.1f} % on {check['n']} test images is not clearly above "
            f"chance ({check['chance'] * 100:.1f} %; needs > {check['needs'] * 100:.1f} %): an untrained model, or "
            "a --data set this model was not trained for")


def _entry(limit, value, ok, **extra):
    return {"limit": limit, "value": value, "ok": value is not None and bool(ok), **extra}


def check_budgets(profile: TargetProfile, summary: dict) -> dict:
    """{budget: {"limit", "value", "ok"}} for every budget the profile sets (0 = not set)."""
    s, p, out = summary, profile, {}
    if p.max_size_mb > 0:
        out["max_size_mb"] = _entry(p.max_size_mb, s["size_mb"], s["size_mb"] <= p.max_size_mb)
    if p.max_accuracy_drop_pt >= 0:
        drop = s["accuracy_drop_pt"]
        out["max_accuracy_drop_pt"] = _entry(p.max_accuracy_drop_pt, drop, drop <= p.max_accuracy_drop_pt)
    if p.max_latency_ms > 0:
        v = s.get("latency_p50_ms")
        out["max_latency_ms"] = _entry(p.max_latency_ms, v, v is not None and v <= p.max_latency_ms)
    if p.max_latency_vs_fp32 > 0:
        v, ci = s.get("latency_vs_fp32"), s.get("latency_vs_fp32_ci")
        ok = v is not None and within({"ci": ci}, p.max_latency_vs_fp32)
        out["max_latency_vs_fp32"] = _entry(p.max_latency_vs_fp32, v, ok, ci=ci)
    if p.min_agreement > 0:
        v = s.get("min_agreement_vs_reference")
        out["min_agreement"] = _entry(p.min_agreement, v, v is not None and v >= p.min_agreement)
    return out


def _describe(name, b):
    value = "None" if b["value"] is None else f"{round(b['value'], 4)}"
    if b.get("ci"):
        value += f" (99% interval {b['ci'][0]:.4f}..{b['ci'][1]:.4f})"
    return f"{name} {value} (limit {b['limit']})"


def budget_failure(budgets: dict) -> str | None:
    """"budget broken: ..." naming every broken budget, or None."""
    broken = [_describe(k, v) for k, v in budgets.items() if not v["ok"]]
    return "budget broken: " + "; ".join(broken) if broken else None
