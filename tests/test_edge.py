"""`kanjiedge edge` command line: unknown targets list the valid ones; a real checkpoint folder + dataset folder
produce a verified artifact folder; a broken budget, a model at chance level, or a dataset sharing no class with
the model exits non-zero with one line and no verify.json; a dataset sharing some classes is verified on those."""

import json

import pytest
import torch

from kanjiedge.cli import main
from kanjiedge.dataset import load
from kanjiedge.models import create_model


def test_unknown_target_lists_valid_ones(capsys):
    """A misspelled target exits 1 with one line naming the valid targets."""
    assert main(["edge", "jetsom", "--model", "x", "--data", "y"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'jetson'" in err[0] and "rpi" in err[0]


@pytest.fixture(scope="module")
def untrained(tiny_dataset, tmp_path_factory):
    """A checkpoint folder in the ARCHITECTURE.md format with untrained weights: accuracy at chance level."""
    data = load(tiny_dataset)
    torch.manual_seed(0)
    model = create_model("cnn", len(data.classes), 32, widths=(8, 16, 32))
    folder = tmp_path_factory.mktemp("model") / "cnn"
    folder.mkdir()
    torch.save({"arch": "cnn", "arch_kwargs": {"widths": [8, 16, 32]}, "model": model.state_dict(),
                "classes": [c["char"] for c in data.classes], "image_size": 32,
                "preprocess": {"size": 32, "normalize": "moment", "scale": 1 / 255, "ink": "high"}},
               folder / "best.pt")
    return folder


def _edge(target, checkpoint, data, out, extra=()):
    return main(["edge", str(target), "--model", str(checkpoint), "--data", str(data), "--out", str(out),
                 "--max-test", "16", "--latency-runs", "5", *extra])


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint):
    """conftest's trained tiny cnn (32x32 input): clearly above chance on tiny_dataset."""
    return tiny_checkpoint


def test_cli_builds_verified_folder(checkpoint, tiny_dataset, tmp_path, capsys):
    """A profile given as a path builds model.onnx + side files + verify.json whose source hash is the checkpoint's."""
    prof = tmp_path / "cpu.toml"
    prof.write_text('description = "fp32 cpu"\nruntimes = ["onnxruntime"]\n[budgets]\nmax_accuracy_drop_pt = 0.5\n')
    assert _edge(prof, checkpoint, tiny_dataset, tmp_path / "out") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    verify = json.loads((tmp_path / "out" / "verify.json").read_text())
    from kanjiedge.hashing import sha256_file

    assert verify["source"]["sha256"] == sha256_file(checkpoint / "best.pt")
    assert summary["top1_agreement_vs_torch"] == 1.0 and verify["budgets"]["max_accuracy_drop_pt"]["ok"]
    assert verify["above_chance"]["ok"] and verify["classes"]["shared"] == verify["classes"]["model_classes"]
    assert "ort.InferenceSession(\"model.onnx\"" in (tmp_path / "out" / "README.md").read_text()


def test_cli_budget_breach_exits_nonzero(checkpoint, tiny_dataset, tmp_path, capsys):
    """An impossible size budget: exit 1, one error line naming the budget, no verify.json."""
    prof = tmp_path / "tiny-budget.toml"
    prof.write_text('runtimes = ["onnxruntime"]\n[budgets]\nmax_size_mb = 0.0001\n')
    assert _edge(prof, checkpoint, tiny_dataset, tmp_path / "out") == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert len(err) == 1 and "budget broken: max_size_mb" in err[0]
    assert not (tmp_path / "out" / "verify.json").exists()


def test_report_budgets_records_the_breach_instead_of_failing(checkpoint, tiny_dataset, tmp_path):
    """Smoke-run mode: the same broken budget exits 0, and verify.json says the budget is broken and why."""
    prof = tmp_path / "tiny-budget.toml"
    prof.write_text('runtimes = ["onnxruntime"]\n[budgets]\nmax_size_mb = 0.0001\n')
    assert _edge(prof, checkpoint, tiny_dataset, tmp_path / "out", extra=("--report-budgets",)) == 0
    verify = json.loads((tmp_path / "out" / "verify.json").read_text())
    assert verify["budgets"]["max_size_mb"]["ok"] is False
    assert "budget broken: max_size_mb" in verify["budget_failure"]


def _cpu_profile(tmp_path):
    prof = tmp_path / "cpu.toml"
    prof.write_text('runtimes = ["onnxruntime"]\n')
    return prof


def test_model_at_chance_fails_the_build(untrained, tiny_dataset, tmp_path, capsys):
    """Untrained weights score about 1/classes: exit 1, one line saying it is not above chance, no verify.json."""
    assert _edge(_cpu_profile(tmp_path), untrained, tiny_dataset, tmp_path / "out") == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    n = len(load(tiny_dataset).classes)
    assert len(err) == 1 and f"is not clearly above chance ({100 / n:.1f} %" in err[0], err
    assert not (tmp_path / "out" / "verify.json").exists()
    failed = json.loads((tmp_path / "out" / "verify.failed.json").read_text())
    assert failed["above_chance"]["ok"] is False and failed["above_chance"]["n"] == 16


def _dataset_of(chars, tmp_path):
    from conftest import TINY_REALISM, TINY_SEED, TINY_WRITERS
    from kanjiedge import dataset, synth

    synth.write("etl9g", TINY_WRITERS, TINY_SEED, tmp_path / "synth" / "etl9g", chars=chars, jobs=1, progress=False,
                realism=TINY_REALISM)  # the look the tiny checkpoint was trained on
    return dataset.build(tmp_path / "synth" / "etl9g", tmp_path / "ds", size=64, normalize="moment", progress=False)


def test_dataset_sharing_no_class_is_one_clear_error(checkpoint, tmp_path, capsys):
    """A dataset of characters the model never saw: exit 1 with one line naming the dataset, no verify.json."""
    data = _dataset_of("火水金土月", tmp_path)
    assert _edge(_cpu_profile(tmp_path), checkpoint, data, tmp_path / "out") == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert len(err) == 1 and f"{data}: none of its 5 classes is among the model's" in err[0], err
    assert not (tmp_path / "out" / "verify.json").exists()


def test_dataset_sharing_some_classes_is_verified_on_those(checkpoint, tmp_path):
    """12 shared classes + 3 the model lacks: verified on the shared ones (labels mapped to the model's indices),
    and verify.json names what differs."""
    from conftest import TINY_CHARS

    from kanjiedge.models import load_model

    model_classes = load_model(checkpoint)[1]["classes"]
    data = _dataset_of(TINY_CHARS[:12] + "火水金", tmp_path)
    assert _edge(_cpu_profile(tmp_path), checkpoint, data, tmp_path / "out") == 0
    verify = json.loads((tmp_path / "out" / "verify.json").read_text())
    assert sorted(verify["classes"].pop("only_in_dataset")) == sorted("火水金")  # in the dataset's (JIS) order
    assert verify["classes"] == {"model_classes": len(model_classes), "dataset_classes": 15, "shared": 12,
                                 "only_in_model": [c for c in model_classes if c not in TINY_CHARS[:12]]}
    assert verify["above_chance"]["chance"] == pytest.approx(1 / 12) and verify["summary"]["accuracy"] > 0.5
