"""bench.bench_archs on the tiny dataset: every row goes through the real engine with its recipe (epochs overridden
to stay short), the JSON / markdown report has the documented fields, levit-dual gets retrieval top-k, a model
folder trained elsewhere is reused as is, a row stopped by its time limit keeps its learning curve and budget."""

import json

from bench import bench_archs


def test_rows_report_and_reuse(tiny_dataset, tmp_path):
    out = tmp_path / "archs.json"
    argv = ["--data", str(tiny_dataset), "--epochs", "2", "--threads", "1",
            "--archs", "cnn", "levit-dual", "--work", str(tmp_path / "w"), "--out", str(out)]
    assert bench_archs.main(argv) == 0
    rows = {r["row"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"cnn", "levit-dual"} and not any("error" in r for r in rows.values())
    assert rows["cnn"]["epochs"] == 2 and len(rows["levit-dual"]["val_curve"]) == 2
    assert "lr=0.002" in rows["levit-dual"]["recipe"] and "lr=0.004" in rows["cnn"]["recipe"]
    for r in rows.values():
        assert r["params"] > 0 and r["samples_per_s"] > 0 and 0 <= r["test_top1"] <= r["test_top5"] <= 1
    assert 0 <= rows["levit-dual"]["retrieval_top1"] <= rows["levit-dual"]["retrieval_top5"] <= 1
    assert "| levit-dual |" in out.with_suffix(".md").read_text()
    again = tmp_path / "again.json"
    argv2 = ["--data", str(tiny_dataset), "--archs", "cnn", "--from-folder", f"cnn={tmp_path / 'w' / 'cnn'}",
             "--out", str(again)]
    assert bench_archs.main(argv2) == 0
    reused = json.loads(again.read_text())["rows"][0]
    assert reused["source"] and reused["test_top1"] == rows["cnn"]["test_top1"] and reused["wall_s"] is None


def test_partial_row_keeps_curve_and_budget():
    """A row stopped after 3 of 40 epochs reports its curve and 40 x the mean epoch time, and no test accuracy."""
    row = {"row": "vit", "epochs": 40, "sample_limit": 0}
    epochs = [{"epoch": i + 1, "epoch_s": 60.0, "val_top1": v} for i, v in enumerate((0.1, 0.3, 0.5))]
    part = bench_archs.partial_summary(row, epochs)
    assert part == {"partial": True, "epochs_done": 3, "budget_min": 40.0}
    md = bench_archs.markdown([{**row, **part, "val_curve": [0.1, 0.3, 0.5]}])
    assert "stopped after 3 of 40 epochs" in md and "~40 min" in md and "10.0, 30.0, 50.0" in md
    assert "| — |" in md
