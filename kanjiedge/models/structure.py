"""Class structure from classes.json (KanjiVG component trees): the radical vocabulary (radical-rnn) and the
hierarchical multi-hot class codes (hiercode). Pure functions of the classes list, so a checkpoint that stores the
list rebuilds the same codes."""

from collections import Counter

import torch

MAX_LEVEL = 3  # component depths 3, 4, ... share one bit: deep leaves (一, 丶) carry little identity


def component_vocab(classes: list) -> list[str]:
    """Sorted component elements found anywhere in the component trees (the radical vocabulary)."""
    return sorted({c["element"] for cls in classes for c in cls.get("components", []) if c.get("element")})


def radical_targets(classes: list, vocab: list[str]) -> torch.Tensor:
    """Multi-hot [C, len(vocab)]: which elements occur in each class's component tree."""
    index = {e: i for i, e in enumerate(vocab)}
    out = torch.zeros(len(classes), max(1, len(vocab)))
    for ci, cls in enumerate(classes):
        for comp in cls.get("components", []):
            if comp.get("element") in index:
                out[ci, index[comp["element"]]] = 1
    return out


def class_bits(cls: dict) -> set[str]:
    """Code bits of one class: element x depth (1, 2, 3+) and element x position (left, top, ...).

    A class without a decomposition (木, あ) is its own level-1 element, so 木 shares its bit with the 木 inside 林.
    """
    comps = cls.get("components") or [{"element": cls["char"], "level": 1, "position": None}]
    bits = set()
    for c in comps:
        bits.add(f"{c['element']}@L{min(int(c.get('level') or 1), MAX_LEVEL)}")
        if c.get("position"):
            bits.add(f"{c['element']}@{c['position']}")
    return bits


def hier_codes(classes: list, min_share: int = 1) -> tuple[torch.Tensor, list[str]]:
    """Hierarchical multi-hot codes [C, K] and the K bit names.

    Args:
        classes: the classes.json list.
        min_share: drop bits set by fewer than this many classes. A bit only one class sets is a class id, not
            shared structure (1,463 of the 3,387 bits at ETL9G's 3,036 classes); min_share=2 keeps the head at
            ~2,050 bits there. With 1 (all bits), adding classes made of known components adds no bits.

    Classes whose (kept) bit set equals another's, or is empty, get a private `char@self` bit so every code is
    unique and non-empty; those classes cannot be recognised zero-shot.
    """
    sets = [class_bits(c) for c in classes]
    if min_share > 1:
        counts = Counter(b for s in sets for b in s)
        sets = [{b for b in s if counts[b] >= min_share} for s in sets]
    seen = {}
    for i, s in enumerate(sets):
        seen.setdefault(frozenset(s), []).append(i)
    for bits, group in seen.items():
        if len(group) > 1 or not bits:  # duplicate or empty code
            for i in group:
                sets[i].add(f"{classes[i]['char']}@self")
    keys = sorted(set().union(*sets)) if sets else []
    index = {k: j for j, k in enumerate(keys)}
    codes = torch.zeros(len(classes), max(1, len(keys)))
    for i, s in enumerate(sets):
        codes[i, [index[b] for b in s]] = 1
    return codes, keys


def zero_shot_candidates(codes: torch.Tensor, n: int, gen: torch.Generator) -> list[int]:
    """Up to n classes that can be held out and still recognised: every bit of each held-out code stays set in
    at least one class that is trained on. Chosen greedily in a seeded random order."""
    counts = codes.sum(0)  # classes still trained on that set each bit
    chosen = []
    for ci in torch.randperm(len(codes), generator=gen).tolist():
        bits = codes[ci] > 0
        if len(chosen) == n:
            break
        if bits.sum() >= 2 and bool((counts[bits] >= 2).all()):  # >= 2 bits: one-bit codes are just a class id
            counts -= codes[ci]
            chosen.append(ci)
    return chosen
