"""Every architecture's own recipe trains: `kanjiedge train ARCH` with no recipe options (only the epochs and batch
cut down for ~150 tiny images) gets far above chance on held-out writers. The recipe's lr, warm-up, weight decay,
augmentation strength, clipping and architecture options are all in force; only its length is not."""

import json

import pytest

from kanjiedge.models import list_models, model_variants, recipe_for
from train_helpers import epoch_rows, final_row

EPOCHS = 12
# rnn/radical_rnn is the radical-rnn model with the same Recipe object: trained once, as radical-rnn
VARIANTS = [(a, t) for a in list_models() for t in model_variants(a) if (a, t) != ("rnn", "radical_rnn")]


@pytest.mark.parametrize("arch,mtype", VARIANTS, ids=[a + (f"-{t}" if t else "") for a, t in VARIANTS])
def test_recipe_beats_chance(arch, mtype, tiny_dataset, tmp_path):
    from kanjiedge.train import cli

    out = tmp_path / "m"
    argv = [arch, "--data", str(tiny_dataset), "--out", str(out), "--epochs", str(EPOCHS), "--batch-size", "16",
            "--threads", "1", "--no-checkpoint"] + (["--model-type", mtype] if mtype else [])
    assert cli(argv) == 0
    chance = 1 / len(json.loads((tiny_dataset / "classes.json").read_text()))
    best_val = max(r["val_top1"] for r in epoch_rows(out) if "epoch" in r)
    final = final_row(out)
    assert best_val >= 6 * chance, f"{arch}/{mtype}: best val top-1 {best_val:.2f}, chance {chance:.2f}"
    assert final["test_top1"] >= 3 * chance, f"{arch}/{mtype}: test top-1 {final['test_top1']:.2f}"
    card = (out / "model-card.md").read_text()
    rec = recipe_for(arch, mtype)
    assert f'"lr": {rec.lr}' in card and f'"aug_strength": {rec.aug_strength}' in card  # the recipe was used
