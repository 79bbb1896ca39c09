"""Accuracy broken down by script (hiragana / katakana / kanji / other) and the most confused pairs, with the pairs
that look identical across scripts (へ/ヘ, カ/力, エ/工, ロ/口, ニ/二, ハ/八, タ/夕, ...) counted as such.

Those look-alikes are the same shape written in two scripts: no single-character recognizer can tell them apart
without context, so their errors are reported in their own column, and an accuracy that forgives them is shown
next to the plain one, never instead of it. Used by `kanjiedge evaluate` and the bench report.
"""

from collections import Counter

SCRIPTS = ("hiragana", "katakana", "kanji", "other")
LOOKALIKES = (  # (one script, another script): same shape
    ("へ", "ヘ"), ("べ", "ベ"), ("ぺ", "ペ"), ("カ", "力"), ("エ", "工"), ("ロ", "口"), ("ニ", "二"), ("ハ", "八"),
    ("タ", "夕"), ("ト", "卜"), ("ー", "一"), ("オ", "才"), ("ミ", "三"),
)
_LOOKALIKE = {frozenset(p) for p in LOOKALIKES}


def script_of(ch: str) -> str:
    """"hiragana", "katakana", "kanji" or "other" (digits, Latin, symbols, marks) for one character."""
    cp = ord(ch) if len(ch) == 1 else -1
    if 0x3041 <= cp <= 0x3096 or 0x309D <= cp <= 0x309F:
        return "hiragana"
    if 0x30A1 <= cp <= 0x30FA or 0x30FC <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF:
        return "katakana"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF \
            or cp == 0x3005:
        return "kanji"
    return "other"


def lookalike(a: str, b: str) -> bool:
    """True when `a` and `b` are the same shape in two scripts (an error no shape alone can avoid)."""
    return frozenset((a, b)) in _LOOKALIKE


def summarize(truth: list, pred: list, top: int = 10) -> dict:
    """Per-script top-1, look-alike errors and the most confused pairs of top-1 predictions.

    Args:
        truth, pred: true and top-1 predicted characters, same length.
        top: how many confused pairs to list.

    Returns:
        {"scripts": {script: {"n", "top1", "lookalike_errors"}} (scripts present only),
         "lookalike_errors": int, "top1_lookalike_forgiven": float,
         "confused": [[true, predicted, count, is_lookalike], ...] most frequent first}
    """
    per = {}
    wrong = Counter()
    for t, p in zip(truth, pred):
        s = per.setdefault(script_of(t), {"n": 0, "ok": 0, "lookalike_errors": 0})
        s["n"] += 1
        s["ok"] += t == p
        if t != p:
            wrong[(t, p)] += 1
            s["lookalike_errors"] += lookalike(t, p)
    n = max(1, len(truth))
    ok = sum(s["ok"] for s in per.values())
    alike = sum(s["lookalike_errors"] for s in per.values())
    scripts = {k: {"n": per[k]["n"], "top1": per[k]["ok"] / per[k]["n"],
                   "lookalike_errors": per[k]["lookalike_errors"]} for k in SCRIPTS if k in per}
    return {"scripts": scripts, "lookalike_errors": alike, "top1_lookalike_forgiven": (ok + alike) / n,
            "confused": [[t, p, c, lookalike(t, p)] for (t, p), c in wrong.most_common(top)]}


def script_line(summary: dict) -> str:
    """One line: per-script top-1 and the look-alike count, e.g. "hiragana 91.2 % (71), kanji 88.0 % (2965) ..."."""
    parts = [f"{k} {100 * v['top1']:.1f} % of {v['n']}" for k, v in summary["scripts"].items()]
    return (", ".join(parts) + f"; cross-script look-alike errors {summary['lookalike_errors']} "
            f"(top-1 forgiving them {100 * summary['top1_lookalike_forgiven']:.2f} %)")


def confused_text(confused: list) -> str:
    """"ば->ぱ 12, へ->ヘ 5 (look-alike), ..." from summarize()["confused"]."""
    return ", ".join(f"{t}->{p} {n}" + (" (look-alike)" if alike else "") for t, p, n, alike in confused)
