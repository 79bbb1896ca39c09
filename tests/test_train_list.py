"""`kanjiedge train --list`: one entry per registered architecture variant with the parameter count of the model the
registry builds, the recipe the registry holds, and the accuracy the BENCHMARKS.md architectures table records."""

import json

from kanjiedge.models import count_params, create_model, list_models, model_variants, recipe_for
from kanjiedge.train_list import BENCHMARKS, list_text, measured, row_names

TABLE = """# benchmarks

## Architectures

benchmark: 300-class synthetic ETL9G subset, writer-disjoint test split

| arch | params | recipe | epochs run | rows/split | train min | samples/s | test top-1 (synthetic writers) | notes |
|---|---|---|---|---|---|---|---|---|
| vit | 1 | x | 30 | all | 1.0 | 10 | **95.50 %** | |
| rnn/basic_rnn | 1 | x | 30 | all | 1.0 | 10 | 99.00 % | |

## Next section

| cnn | 1 | x | 1 | all | 1 | 1 | 1.00 % | |
"""


def entries(text: str) -> dict[str, list[str]]:
    out, name = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" ") and ": " in line and line.endswith("parameters"):
            name = line.split(":")[0]
            out[name] = [line]
        elif name and line.startswith("  "):
            out[name].append(line.strip())
    return out


def test_list_matches_the_registry(tiny_dataset, tmp_path):
    classes = json.loads((tiny_dataset / "classes.json").read_text())
    bench = tmp_path / "BENCHMARKS.md"
    bench.write_text(TABLE)
    got = entries(list_text(classes, path=bench))
    expected = {a + (f"/{t}" if t else "") for a in list_models() for t in model_variants(a)}
    assert set(got) == expected and "rnn/basic_rnn" in got and "rnn/stroke_rnn" in got
    for arch, mtype, row in row_names():
        rec = recipe_for(arch, mtype)
        kw = {**rec.options, **({"model_type": mtype} if mtype else {})}
        params = count_params(create_model(arch, len(classes), 32, classes=classes, **kw))
        assert got[row][0] == f"{row}: {params:,} parameters"
        assert got[row][1] == f"recipe: {rec.summary()}" and f"epochs={rec.epochs}" in got[row][1]
    assert got["vit"][3].startswith("last measured: 95.50 % test top-1 on synthetic writers (300-class")
    assert "after 30 epochs" in got["vit"][3]
    assert got["cnn"][3] == "last measured: not measured yet"  # a table in another section does not count


def test_benchmarks_md_rows_are_registered_names():
    """Every row of the real architectures table names a registered variant, so --list can find it."""
    rows = measured(BENCHMARKS)
    assert rows and set(rows) <= {r for _, _, r in row_names()}
    assert all("synthetic writers" in v for v in rows.values())


def test_vit_and_basic_rnn_recipes_differ_from_the_cnn_defaults():
    """The two architectures that stayed near chance at the cnn's defaults carry their own recipes."""
    cnn, vit, rnn = recipe_for("cnn"), recipe_for("vit"), recipe_for("rnn", "basic_rnn")
    assert vit.options["stem"] == "conv" and vit.lr < cnn.lr and vit.warmup_epochs > cnn.warmup_epochs
    assert rnn.lr < cnn.lr and rnn.epochs > cnn.epochs
    assert recipe_for("rnn") == recipe_for("rnn", "hybrid_cnn_rnn")  # the factory's default model_type
