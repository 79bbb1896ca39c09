"""bench.bench_archs on the tiny dataset: every row goes through the real engine, the JSON / markdown report has
the documented fields, levit-dual gets retrieval top-k, a model folder trained elsewhere is reused as is."""

import json

from bench import bench_archs


def test_rows_report_and_reuse(tiny_dataset, tmp_path):
    out = tmp_path / "archs.json"
    argv = ["--data", str(tiny_dataset), "--epochs", "2", "--slow-epochs", "1", "--slow-limit", "0", "--threads", "1",
            "--archs", "cnn", "levit-dual", "--work", str(tmp_path / "w"), "--out", str(out)]
    assert bench_archs.main(argv) == 0
    rows = {r["row"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"cnn", "levit-dual"} and not any("error" in r for r in rows.values())
    assert rows["cnn"]["epochs"] == 2 and rows["levit-dual"]["epochs"] == 1
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
