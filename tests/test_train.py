"""The training engine on the tiny synthetic dataset: learns far above chance, writes the documented outputs,
zero-shot bookkeeping works, bad input gives one clear error. `tiny_checkpoint` lives in conftest.py."""

import json

import pytest
import torch

from kanjiedge.errors import UserError
from kanjiedge.models import load_model
from train_helpers import final_row, run_train


def test_cnn_learns_far_above_chance(tiny_checkpoint, tiny_dataset):
    """A few hundred steps on ~150 images of 25 classes: test top-1 far above chance (4 %)."""
    n_classes = len(json.loads((tiny_dataset / "classes.json").read_text()))
    row = final_row(tiny_checkpoint)
    assert row["test_top1"] >= 0.6 > 5 / n_classes
    assert row["test_top5"] >= row["test_top1"]


def test_outputs_and_checkpoint_format(tiny_checkpoint):
    """best.pt follows ARCHITECTURE.md and loads with weights_only; the card is written; old ckpts are pruned."""
    ck = torch.load(tiny_checkpoint / "best.pt", weights_only=True)
    for key in ("arch", "arch_kwargs", "model", "classes", "image_size", "preprocess", "metrics", "dataset", "epoch"):
        assert key in ck
    assert ck["preprocess"]["size"] == 32 and ck["preprocess"]["normalize"] == "moment"
    assert "test_top1" in ck["metrics"]
    assert len(list(tiny_checkpoint.glob("ckpt-*.pt"))) == 2  # --keep-last-n default
    card = (tiny_checkpoint / "model-card.md").read_text()
    assert "## Metrics" in card and "## Limits" in card and "parameters" in card
    metric_rows = [ln for ln in card.splitlines() if ln.startswith("| val") or ln.startswith("| test")]
    assert metric_rows and all("synthetic writers" in ln for ln in metric_rows)  # every accuracy names its data
    model, meta = load_model(tiny_checkpoint)
    assert meta["arch"] == "cnn" and model(torch.rand(2, 1, 32, 32)).shape == (2, len(ck["classes"]))


def test_hiercode_zero_shot_bookkeeping(tiny_dataset, tmp_path):
    """--holdout-classes trains without those classes and reports seen / unseen test accuracy separately."""
    row = run_train("hiercode", tiny_dataset, tmp_path / "h", 8, "--holdout-classes", "2")
    ck = torch.load(tmp_path / "h" / "best.pt", weights_only=True)
    assert len(ck["holdout"]) == 2
    assert row["test_unseen_n"] > 0 and row["test_seen_n"] + row["test_unseen_n"] == row["test_n"]
    assert set(ck["holdout"]) <= set(range(len(ck["classes"]))) and row["test_seen_top1"] > 0.2
    # held-out classes are masked only in training: at test time they are ranked from their codes alone
    assert row["test_unseen_top5"] > 0
    # the recipe's seen-calibrated unseen bias: recorded, stored in best.pt, raw numbers kept next to it
    assert row["unseen_bias"] >= 0 and "raw_test_unseen_top1" in row
    assert torch.allclose(ck["model"]["class_bias"][ck["holdout"]], torch.tensor(row["unseen_bias"]))
    assert row["test_unseen_top1"] >= row["raw_test_unseen_top1"]


def test_no_checkpoint_writes_only_best(tiny_dataset, tmp_path):
    run_train("cnn", tiny_dataset, tmp_path / "n", 2, "--no-checkpoint")
    names = {p.name for p in (tmp_path / "n").iterdir()}
    assert {"best.pt", "metrics.jsonl", "model-card.md"} <= names and not any(n.startswith("ckpt-") for n in names)


def test_bad_inputs_give_user_errors(tiny_dataset, tmp_path):
    from kanjiedge.train import cli

    (tmp_path / "d").mkdir()
    with pytest.raises(UserError, match="not a dataset folder"):  # (an --out inside --data is refused first)
        cli(["cnn", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    with pytest.raises(UserError, match="unknown architecture"):
        cli(["nope", "--data", str(tiny_dataset)])
    with pytest.raises(UserError, match="no option"):
        cli(["cnn", "--data", str(tiny_dataset), "--arch-opt", "bogus=1", "--out", str(tmp_path / "o")])


def test_held_out_classes_leave_the_loss():
    """Zero-shot runs: the cross-entropy (with label smoothing) runs over the trained classes only, so held-out
    classes neither inflate the loss nor act as negatives; the returned logits have them masked."""
    from kanjiedge.train import TrainStep

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 6))
    mask = torch.tensor([False, True, False, False, True, False])
    x, y = torch.rand(5, 1, 4, 4), torch.tensor([0, 2, 3, 5, 0])
    loss, logits = TrainStep(model, 0.1, mask)(x, y)
    keep = torch.tensor([0, 2, 3, 5])
    ref = torch.nn.functional.cross_entropy(model(x)[:, keep], torch.tensor([0, 1, 2, 3, 0]), label_smoothing=0.1)
    torch.testing.assert_close(loss, ref)
    assert bool((logits[:, mask] <= -1e3).all()) and loss.item() < 5
