"""Fault injection (issue 9 §1 and §5): hostile --out values never cost a user a file, and bad inputs give one line
naming the file, never a traceback. Real files and the real commands (kanjiedge.cli.main, bench.report.main)."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from kanjiedge import outputs
from kanjiedge.cli import main
from kanjiedge.errors import RefusedOutput
from train_helpers import FAST

DEAD_PID = 99_999_999  # above any pid_max: no such process


def run(capsys, argv) -> tuple[int, list[str]]:
    """kanjiedge main in-process -> (exit code, stderr lines); argparse errors count as exit 2."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    return rc, err


def snapshot(root: Path) -> dict:
    """relative path -> sha256 of a file / "dir" / "link:target" for everything under root."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = (f"link:{os.readlink(p)}" if p.is_symlink() else "dir" if p.is_dir()
                    else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def model(tiny_dataset, tmp_path_factory):
    """A 1-epoch cnn (checkpoints included, so resume can be tested) made by `kanjiedge train`."""
    out = tmp_path_factory.mktemp("faults") / "cnn"
    assert main(["train", "cnn", "--data", str(tiny_dataset), "--out", str(out), "--epochs", "1", *FAST]) == 0
    return out


def onnx_file(path: Path, labels=("口", "右", "品"), preprocess=None, classes=3, meta=True) -> Path:
    """A real ONNX classifier (Flatten -> MatMul) with kanjiedge metadata, built with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((32 * 32, classes)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])], [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    pre = preprocess if preprocess is not None else json.dumps({"size": 32, "source_size": 64, "normalize": "moment",
                                                                "scale": 1 / 255})
    if meta:
        helper.set_model_props(m, {"kanjiedge.labels": json.dumps(list(labels), ensure_ascii=False),
                                   "kanjiedge.preprocess": pre})
    onnx.save(m, str(path))
    return path


def png(path: Path, img: np.ndarray) -> Path:
    import cv2

    cv2.imwrite(str(path), img)
    return path


# ---------------------------------------------------------------- §1: hostile --out, per writing command

def commands(ctx):
    """name -> argv writing to OUT (a placeholder), with the inputs from ctx."""
    return {
        "dataset": ["dataset", "--etl-dir", ctx["etl"], "--out", "OUT", "--no-progress"],
        "synth": ["synth", "--format", "etl9g", "--writers", "1", "--chars", "2", "--jobs", "1", "--no-progress",
                  "--out", "OUT"],
        "fonts write": ["fonts", "write", "--split", "train", "--chars", "口", "--jobs", "1", "--out", "OUT"],
        "train": ["train", "cnn", "--data", ctx["data"], "--epochs", "1", *FAST, "--out", "OUT"],
        "edge": ["edge", "rpi", "--model", ctx["model"], "--data", ctx["data"], "--out", "OUT"],
        "webpage": ["webpage", ctx["onnx"], "--out", "OUT"],
        "etl show": ["etl", "show", ctx["etl"] / "ETL9G_01", "--index", "0", "--out", "OUT"],
    }


@pytest.fixture
def home(tmp_path, tiny_etl_dir, tiny_dataset, model):
    """A user's tree: documents, a plain file, a symlink to the documents, and copies of the inputs."""
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "thesis.txt").write_text("five years of work")
    (tmp_path / "docs" / "sub" / "data.bin").write_bytes(os.urandom(64))
    (tmp_path / "notes.txt").write_text("do not delete")
    (tmp_path / "link").symlink_to(tmp_path / "docs")
    shutil.copytree(tiny_etl_dir, tmp_path / "etl")
    shutil.copytree(tiny_dataset, tmp_path / "data")
    shutil.copytree(model, tmp_path / "model")
    onnx_file(tmp_path / "m.onnx")
    return {"root": tmp_path, "etl": tmp_path / "etl", "data": tmp_path / "data", "model": tmp_path / "model",
            "onnx": tmp_path / "m.onnx"}


HOSTILE = {  # name -> --out relative to the user's tree ({input}: the command's input there)
    "user folder": "docs",
    "symlink to user folder": "link",
    "plain file": "notes.txt",
    "below a plain file": "notes.txt/out",
    "the tree holding the inputs": ".",
    "an input": "{input}",
    "inside an input": "{input}/out",
}
INPUT_OF = {"dataset": "etl", "train": "data", "edge": "model", "webpage": "onnx", "etl show": "etl"}


@pytest.mark.parametrize("command", ["dataset", "synth", "fonts write", "train", "edge", "webpage", "etl show"])
def test_hostile_out_is_refused_and_nothing_is_lost(command, home, capsys):
    """Every hostile --out is refused with one line (exit 2), and the user's tree is byte-for-byte unchanged."""
    if command == "fonts write":
        from kanjiedge import fonts

        if not fonts.fonts_of("train"):
            pytest.skip("no training fonts installed")
    root, before = home["root"], snapshot(home["root"])
    for case, rel in HOSTILE.items():
        if "{input}" in rel and command not in INPUT_OF:
            continue
        out = root / rel.format(input=home[INPUT_OF.get(command, "etl")].name)
        if command == "etl show" and case == "inside an input":
            out = home["etl"] / "ETL9G_01"  # the PNG onto the ETL file it reads
        argv = [out if a == "OUT" else a for a in commands(home)[command]]
        rc, err = run(capsys, argv)
        assert rc == 2 and len(err) == 1 and str(out) in err[0] and "Traceback" not in err[0], (case, err)
        after = snapshot(root)
        assert after == before, (case, set(before.items()) ^ set(after.items()))


def test_nothing_outside_what_a_command_created_is_removed(home, capsys):
    """Successful runs next to a user's files: afterwards every file that existed before is still there, intact,
    and the only new entries are the outputs (and their markers)."""
    root, before = home["root"], snapshot(home["root"])
    runs = [["dataset", "--etl-dir", home["etl"], "--out", root / "ds", "--no-progress"]] * 2  # a rerun replaces
    runs += [["synth", "--format", "etl9g", "--writers", "1", "--chars", "2", "--jobs", "1", "--no-progress",
              "--out", root / "etl2"]] * 2
    runs += [["etl", "show", home["etl"] / "ETL9G_01", "--index", "0", "--out", root / "x.png"]] * 2
    for argv in runs:
        rc, err = run(capsys, argv)
        assert rc == 0, err
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k in before} == before
    assert {k.split("/")[0] for k in set(after) - set(before)} == {"ds", "etl2", "x.png"}
    assert outputs.read_marker(root / "ds")["command"] == "dataset"
    assert not [p for p in root.iterdir() if outputs.STAGING_RE.match(p.name)]  # no staging folder left


def test_user_file_added_to_an_output_blocks_the_swap(home, capsys):
    root = home["root"]
    argv = ["dataset", "--etl-dir", home["etl"], "--out", root / "ds", "--no-progress"]
    assert run(capsys, argv)[0] == 0
    (root / "ds" / "my-notes.txt").write_text("mine")
    rc, err = run(capsys, argv)
    assert rc == 2 and "not an earlier output" in err[0]
    assert (root / "ds" / "my-notes.txt").read_text() == "mine"


def test_other_commands_output_is_not_own(home, capsys):
    root = home["root"]
    assert run(capsys, ["synth", "--format", "etl9g", "--writers", "1", "--chars", "2", "--jobs", "1",
                        "--no-progress", "--out", root / "s"])[0] == 0
    rc, err = run(capsys, ["dataset", "--etl-dir", home["etl"], "--out", root / "s", "--no-progress"])
    assert rc == 2 and "kanjiedge dataset" in err[0] and (root / "s" / "ETL9G_01").is_file()


def test_bench_report_refuses_before_measuring(home):
    from bench.report import main as report_main

    for out in (home["root"] / "docs", home["root"] / "notes.txt", home["data"]):
        with pytest.raises(RefusedOutput, match=str(out)):
            report_main(["--data", str(home["data"]), "--edge", str(home["root"] / "edge"), "--models",
                         str(home["root"] / "models"), "--out", str(out)])


# ---------------------------------------------------------------- §1: earlier outputs of the previous version

LEGACY_FOLDERS = {  # command -> (files of a folder the previous version wrote, accepted?)
    "dataset": (["images.npy", "labels.npy", "writers.npy", "classes.json", "splits.json", "manifest.json"], True),
    "train": (["best.pt", "last.pt", "ckpt-003.pt", "metrics.jsonl", "model-card.md", ".best.pt.tmp12"], True),
    "edge": (["model.onnx", "labels.json", "preprocess.json", "verify.json", "README.md", "web/index.html"], True),
    "webpage": (["index.html", "app.js", "ort.min.js", "model.onnx", "labels.json", "preprocess.json"], True),
    "synth": (["ETL9G_01", "ETL9G_02", ".done"], True),
    "fonts write": (["ETL9G_51", "ETL9G_52"], True),
    "bench report": (["bench.md", "bench.json", "accuracy_vs_size.png", "decode.json"], True),
    "bench report ": (["bench.md", "thesis.pdf"], False),
    "dataset ": (["images.npy", "manifest.json", "thesis.docx"], False),  # a user file among ours
    "synth ": (["ETL9G_01", "ETL9G_02"], False),  # a real ETL folder: no Makefile stamp
    "fonts write ": (["ETL9G_01"], False),  # real files are numbered below 51
    "train ": (["best.pt", "holiday.jpg"], False),
    "train  ": (["metrics.jsonl"], False),  # no model in it
    "edge ": (["model.onnx"], False),
}


@pytest.mark.parametrize("name", LEGACY_FOLDERS)
def test_previous_version_outputs(name, tmp_path):
    files, accepted = LEGACY_FOLDERS[name]
    for f in files:
        (tmp_path / "out" / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / f).write_bytes(b"x")
    assert outputs.is_own(tmp_path / "out", name.strip()) == accepted


def test_previous_version_pngs(tmp_path):
    """An 8-bit grey PNG with only IHDR/IDAT/IEND (what cv2 wrote for etl show before the mark) is ours; a colour
    picture, a marked picture of another command, or a non-PNG is not."""
    grey = png(tmp_path / "grey.png", np.zeros((8, 8), np.uint8))
    colour = png(tmp_path / "colour.png", np.zeros((8, 8, 3), np.uint8))
    other = tmp_path / "other.png"
    other.write_bytes(outputs.mark_png(colour.read_bytes(), "synth"))
    (tmp_path / "text.png").write_text("not a png")
    assert outputs.is_own_png(grey, "etl show") and not outputs.is_own_png(colour, "etl show")
    assert outputs.is_own_png(other, "synth") and not outputs.is_own_png(other, "etl show")
    assert not outputs.is_own_png(tmp_path / "text.png", "etl show")


def test_legacy_dataset_is_replaced_by_a_rerun(home, capsys):
    root = home["root"]
    argv = ["dataset", "--etl-dir", home["etl"], "--out", root / "ds", "--no-progress"]
    assert run(capsys, argv)[0] == 0
    (root / "ds" / outputs.MARKER).unlink()  # as the previous version left it
    assert run(capsys, argv)[0] == 0 and outputs.read_marker(root / "ds")["command"] == "dataset"


# ---------------------------------------------------------------- §1: leftovers of interrupted runs

def test_leftovers_of_dead_runs_are_cleaned_and_nothing_else(home, capsys):
    root = home["root"]
    argv = ["dataset", "--etl-dir", home["etl"], "--out", root / "ds", "--no-progress"]
    ours = root / f".ds.tmp{DEAD_PID}"  # a staging folder of a killed run: marker + half a dataset
    ours.mkdir()
    outputs.write_marker(ours, "dataset")
    (ours / "images.npy").write_bytes(b"\0" * 100)
    old_version = root / f".ds.tmp{DEAD_PID - 1}"  # the previous version's staging folder (no marker)
    old_version.mkdir()
    (old_version / "images.npy").write_bytes(b"\0" * 100)
    foreign = root / f".ds.tmp{DEAD_PID - 2}"  # same name pattern, a user's files: kept
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("mine")
    running = root / f".ds.tmp{os.getppid()}"  # a live process's staging folder: kept
    running.mkdir()
    outputs.write_marker(running, "dataset")
    assert run(capsys, argv)[0] == 0
    assert not ours.exists() and not old_version.exists()
    assert (foreign / "thesis.txt").read_text() == "mine" and running.is_dir()


def test_run_killed_between_renames_gets_its_output_back(home, capsys):
    root = home["root"]
    argv = ["dataset", "--etl-dir", home["etl"], "--out", root / "ds", "--no-progress"]
    assert run(capsys, argv)[0] == 0
    os.replace(root / "ds", root / f".ds.old{DEAD_PID}")  # killed after moving the old output aside
    outputs.clean_leftovers(root / "ds", "dataset")
    assert (root / "ds" / "manifest.json").is_file()


def test_checkpoint_temp_files_of_a_killed_run_are_removed(home):
    out = home["model"]
    dead = out / f".ckpt-002.pt.tmp{DEAD_PID}"
    dead.write_bytes(b"\0" * 1000)
    live = out / f".last.pt.tmp{os.getppid()}"
    live.write_bytes(b"\0")
    outputs.claim(out, "train", [home["data"]])
    assert not dead.exists() and live.exists() and (out / "best.pt").is_file()


def test_png_temp_file_of_a_killed_run_is_removed(home, capsys):
    root = home["root"]
    dead, other = root / f".x.png.tmp{DEAD_PID}", root / f".y.png.tmp{DEAD_PID}"
    dead.write_bytes(b"half a png")
    other.write_bytes(b"another file's")
    assert run(capsys, ["etl", "show", home["etl"] / "ETL9G_01", "--index", "0", "--out", root / "x.png"])[0] == 0
    assert not dead.exists() and other.exists() and outputs.is_own_png(root / "x.png", "etl show")
    from PIL import Image  # a strict decoder: the inserted tEXt chunk keeps the file valid

    Image.open(root / "x.png").load()


# ---------------------------------------------------------------- §5: one clear line naming the file

def _bad_inputs(root: Path, data: Path) -> dict:
    """case -> (argv, text the one error line must contain)."""
    good = onnx_file(root / "good.onnx")
    trunc = root / "truncated.onnx"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    rand = root / "random.onnx"
    rand.write_bytes(np.random.default_rng(1).bytes(4096))
    foreign = onnx_file(root / "foreign.onnx", meta=False)
    mismatch = onnx_file(root / "mismatch.onnx", labels=("口", "右"))
    badpre = onnx_file(root / "badpre.onnx", preprocess='{"size": "big"}')
    notjson = onnx_file(root / "notjson.onnx", preprocess="{size: 32")
    cut = root / "cutdata"
    shutil.copytree(data, cut)
    with open(cut / "images.npy", "r+b") as f:
        f.truncate(f.seek(0, 2) // 3)
    toml = root / "binary.toml"
    toml.write_bytes(b"\xff\xfe\x00\x81" * 64)
    img = png(root / "ink.png", np.full((40, 40), 255, np.uint8))
    cases = {}
    for name, m in [("truncated", trunc), ("random", rand), ("foreign", foreign), ("labels", mismatch),
                    ("preprocess", badpre), ("preprocess json", notjson)]:
        cases[f"predict {name} onnx"] = (["predict", img, "--model", m], str(m))
        cases[f"evaluate {name} onnx"] = (["evaluate", "--model", m, "--data", data], str(m))
    cases["truncated images.npy"] = (["evaluate", "--model", good, "--data", cut], str(cut / "images.npy"))
    cases["binary profile"] = (["edge", toml, "--model", root, "--data", data], str(toml))
    for name, pixels in [("blank", np.full((40, 40), 255, np.uint8)), ("black", np.zeros((40, 40), np.uint8)),
                         ("1x1", np.zeros((1, 1), np.uint8))]:
        p = png(root / f"{name}.png", pixels)
        cases[f"{name} image"] = (["predict", p, "--model", good], f"{p}: no ink found")
    cases["etl show --out DIR"] = (["etl", "show", "ETL", "--index", "0", "--out", root], str(root))
    return cases


def test_bad_inputs_give_one_line(home, tiny_etl_dir, capsys):
    root = home["root"] / "bad"
    root.mkdir()
    cases = _bad_inputs(root, home["data"])
    cases["etl show --out DIR"][0][2] = tiny_etl_dir / "ETL9G_01"
    (root / "file").write_text("x")
    cases["synth --out FILE"] = (["synth", "--writers", "1", "--chars", "2", "--out", root / "file"],
                                 str(root / "file"))
    cases["etl show --normalize without --size"] = (["etl", "show", tiny_etl_dir / "ETL9G_01", "--index", "0",
                                                     "--out", root / "y.png", "--normalize", "moment"], "needs a size")
    cases["dataset --size 0"] = (["dataset", "--etl-dir", tiny_etl_dir, "--out", root / "ds0", "--size", "0",
                                  "--no-progress"], "size must be")
    cases["evaluate --split nope"] = (["evaluate", "--model", root / "good.onnx", "--data", home["data"], "--split",
                                       "nope"], "invalid choice")
    for case, (argv, want) in cases.items():
        rc, err = run(capsys, argv)
        err = err[-1:] if case == "evaluate --split nope" else err  # argparse: usage line, then the error
        assert rc in (1, 2) and len(err) == 1 and want in err[0] and "Traceback" not in err[0], (case, err)
    assert not list(root.glob(".ds0*")) and not (root / "ds0").exists()  # a failed dataset leaves nothing


@pytest.mark.parametrize("argv,option", [
    (["predict", "x.png", "--top", "0"], "--top"), (["predict", "x.png", "--top", "-3"], "--top"),
    (["train", "cnn", "--batch-size", "0"], "--batch-size"), (["train", "cnn", "--epochs", "0"], "--epochs"),
])
def test_bad_counts_are_rejected(argv, option, capsys):
    rc, err = run(capsys, argv)
    assert rc == 1 and len(err) == 1 and option in err[0] and "at least 1" in err[0]


def test_good_onnx_still_predicts(home, capsys):
    """The checks reject only what is wrong: a drawn stroke on the valid model gives a top-3."""
    img = np.full((40, 40), 255, np.uint8)
    img[5:35, 18:22] = 0
    rc = main(["predict", str(png(home["root"] / "stroke.png", img)), "--model", str(home["onnx"]), "--top", "3"])
    assert rc == 0 and len(capsys.readouterr().out.split("%")) == 4


def test_resume_with_other_options_is_refused(home, capsys):
    out = home["model"]  # a copy of the 1-epoch run: ckpt-001.pt holds its options
    base = ["train", "cnn", "--data", home["data"], "--out", out, "--epochs", "1", *FAST]
    rc, err = run(capsys, [*base[:-len(FAST)], *[v if v != "3e-3" else "0.1" for v in FAST]])
    err = [ln for ln in err if "it/s]" not in ln]  # the data loader's progress bar
    assert rc == 1 and len(err) == 1 and "ckpt-001.pt" in err[0] and "--lr" in err[0] and "--resume-anyway" in err[0]
    rc, err = run(capsys, [*base, "--image-size", "28"])  # an option value the architecture rejects: one line
    assert rc == 1 and "image size 28" in err[-1] and not any("Traceback" in ln for ln in err)
    rc, err = run(capsys, [*base, "--image-size", "40"])  # a later option wins in argparse
    assert rc == 1 and "--image-size" in err[-1]
    assert run(capsys, [*base[:-len(FAST)], *[v if v != "3e-3" else "0.1" for v in FAST], "--resume-anyway"])[0] == 0
    assert run(capsys, base)[0] == 0  # same options: resumes


def test_every_normalize_mode_is_valid_model_metadata(tmp_path):
    """A model trained on any dataset mode (clean-moment is the default) passes the metadata check that predict,
    evaluate and the OOD check run; an unknown mode is still one clear error."""
    from kanjiedge import checks, preprocess
    from kanjiedge.errors import InputError

    for mode in preprocess.MODES:
        assert checks.preprocess(tmp_path / "m.onnx", json.dumps({"size": 32, "normalize": mode}))["normalize"] == mode
    with pytest.raises(InputError, match="m.onnx: kanjiedge.preprocess normalize = 'sharpen' is unknown"):
        checks.preprocess(tmp_path / "m.onnx", json.dumps({"size": 32, "normalize": "sharpen"}))
