"""DistributedDataParallel: `torchrun --nproc-per-node=2 -m kanjiedge.train` with 2 CPU (gloo) workers trains,
shards the data and writes one set of outputs from rank 0."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from train_helpers import final_row, subprocess_env, train_argv


@pytest.mark.slow
def test_torchrun_two_gloo_workers(tiny_dataset, tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(__import__("sys").executable).parent / "torchrun")
    out = tmp_path / "ddp"
    cmd = [torchrun, "--standalone", "--nproc-per-node=2", "-m", "kanjiedge.train",
           *train_argv("cnn", tiny_dataset, out, 3, "--device", "cpu")]
    res = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "device cpu x2" in res.stderr
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if "epoch" in r] == [1, 2, 3]  # one writer: no duplicated lines
    assert final_row(out)["test_n"] > 0 and (out / "model-card.md").exists()
