"""Shared helpers for the training tests: run the real CLI on the tiny dataset."""

import json
import os
import subprocess
import sys
from pathlib import Path

FAST = ["--image-size", "32", "--batch-size", "16", "--lr", "3e-3", "--threads", "1"]


def train_argv(arch, data, out, epochs=20, *extra):
    return [arch, "--data", str(data), "--out", str(out), "--epochs", str(epochs), *FAST, *extra]


def run_train(arch, data, out, epochs=20, *extra) -> dict:
    """kanjiedge.train.cli in-process; returns the final test metrics row of metrics.jsonl."""
    from kanjiedge.train import cli

    assert cli(train_argv(arch, data, out, epochs, *extra)) == 0
    return final_row(out)


def final_row(out) -> dict:
    rows = [json.loads(ln) for ln in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    return next(r for r in rows if r.get("final"))


def epoch_rows(out) -> list[dict]:
    """Per-epoch metric rows without the wall-clock fields (those legitimately differ between runs)."""
    rows = [json.loads(ln) for ln in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    drop = {"samples_per_s", "epoch_s"}
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def subprocess_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), OMP_NUM_THREADS="1")
    return env


def python() -> str:
    return sys.executable
