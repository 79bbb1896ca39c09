"""Target profiles: every targets/*.toml loads; typos and impossible combinations are rejected with a message that
names the file, the key and (where one exists) the likely intended key."""

import dataclasses
from pathlib import Path

import pytest

from kanjiedge.errors import UserError
from kanjiedge.export import EXPORTER_MODULES, capabilities
from kanjiedge.profile import TargetProfile, list_targets, load_profile

TARGETS = sorted(Path(__file__).resolve().parent.parent.glob("targets/*.toml"))


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: p.stem)
def test_every_profile_loads(path):
    """Each shipped profile loads by path and by name into the same frozen dataclass, with known runtimes/extras."""
    p = load_profile(path)
    assert p == load_profile(path.stem)
    assert isinstance(p, TargetProfile) and p.name == path.stem
    assert set(p.runtimes) <= set(capabilities()) and set(p.extras) <= set(EXPORTER_MODULES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.opset = 99


def test_shipped_targets_match_the_issue():
    """The four targets declare what issue 4 asks of them."""
    assert {"desktop-gpu", "jetson", "rpi", "wasm"} <= set(list_targets())
    rpi, wasm, jetson, gpu = (load_profile(n) for n in ("rpi", "wasm", "jetson", "desktop-gpu"))
    assert rpi.precision == "int8" and rpi.method == "static" and rpi.per_channel and rpi.threads == (1, 2)
    assert "ConvInteger" in rpi.forbid and rpi.max_size_mb == 1.67 and rpi.max_accuracy_drop_pt == 0.5
    assert {"tract", "onnxruntime-web"} <= set(wasm.runtimes) and wasm.quant_format == "QDQ" and not wasm.dynamo
    assert wasm.optimize_for in ("size", "latency") and "web" in wasm.extras
    assert jetson.opset == 13 and jetson.symmetric_activations and jetson.only == "onnx-tensorrt"
    assert "fp16" in jetson.precisions and "trtexec" in jetson.extras
    assert gpu.precisions == ("fp16", "fp32") and gpu.bnb_types == ("nf4", "fp4") and gpu.bnb_double_quant


def _write(tmp_path, text, name="t.toml"):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def _variant(tmp_path, base, old, new):
    text = Path(load_profile(base).path).read_text(encoding="utf-8")
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1), f"{base}-bad.toml")


@pytest.mark.parametrize("old,new,words", [
    ("per_channel = true", "per_chanel = true", ["unknown key 'precision.per_chanel'", "precision.per_channel"]),
    ("[budgets]", "[budget]", ["unknown key '[budget]'"]),
    ("opset = 17", "opset = \"17\"", ["opset must be an integer"]),
    ("precision = \"int8\"", "precision = \"int4\"", ["'int4' is not one of"]),
    ("quant_format = \"QDQ\"", "quant_format = \"QOperator\"", ["QOperator", "tract"]),
    ("also = [\"fp32\"]", "also = [\"fp16\"]", ["fp16", "cannot run on tract"]),
    ("opset = 17", "opset = 18", ["opset 18 needs dynamo = true"]),
    ("\ndynamo = false", "\ndynamo = true", ["dynamo = true with opset 17", "silently writes opset 18"]),
    ("method = \"static\"", "method = \"dynamic\"", ["dynamic", "ConvInteger", "forbid"]),
    ("calibration_samples = 512", "calibration_samples = 0", ["calibration_samples >= 1"]),
    ("optimize_for = \"size\"", "optimize_for = \"\"", ["optimize_for"]),
])
def test_bad_wasm_profiles_are_rejected(tmp_path, old, new, words):
    """Typos, wrong types and combinations tract/onnxruntime-web cannot run fail at load time, naming the file."""
    f = _variant(tmp_path, "wasm", old, new)
    with pytest.raises(UserError) as e:
        load_profile(f)
    msg = str(e.value)
    assert str(f) in msg and all(w in msg for w in words), msg


@pytest.mark.parametrize("base,old,new,words", [
    ("jetson", "symmetric_activations = true", "symmetric_activations = false", ["tensorrt", "zero-point 0"]),
    ("jetson", "opset = 13", "opset = 17", ["opset 17 is above what tensorrt parses"]),
    ("jetson", "quant_format = \"QDQ\"", "quant_format = \"QOperator\"", ["QOperator", "tensorrt"]),
    ("rpi", "method = \"static\"", "method = \"none\"", ["int8 needs method"]),
    ("rpi", "runtimes = [\"onnxruntime\"]", "runtimes = [\"onnxruntim\"]", ["did you mean 'onnxruntime'"]),
    ("desktop-gpu", "extras = [\"bnb\"]", "extras = []", ["bnb_types given but 'bnb' is not in extras"]),
    ("desktop-gpu", "bnb_types = [\"nf4\", \"fp4\"]", "bnb_types = [\"nf3\"]", ["'nf3' is not one of"]),
])
def test_bad_profiles_are_rejected(tmp_path, base, old, new, words):
    """Impossible combinations for the other targets are rejected with a message naming the conflict."""
    f = _variant(tmp_path, base, old, new)
    with pytest.raises(UserError) as e:
        load_profile(f)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_unknown_target_lists_valid_ones():
    """An unknown target name says which targets exist (and suggests the closest)."""
    with pytest.raises(UserError) as e:
        load_profile("rpy")
    assert "did you mean 'rpi'" in str(e.value) and "jetson" in str(e.value)


def test_invalid_toml_names_file(tmp_path):
    f = _write(tmp_path, "runtimes = [\n")
    with pytest.raises(UserError, match="invalid TOML"):
        load_profile(f)


def test_minimal_profile_gets_defaults(tmp_path):
    """A one-line profile is a plain fp32 onnxruntime target."""
    p = load_profile(_write(tmp_path, 'description = "x"\n', "mini.toml"))
    assert p.name == "mini" and p.precisions == ("fp32",) and p.runtimes == ("onnxruntime",)


def test_tract_runs_dynamic_quantization(tmp_path):
    """tract runs DynamicQuantizeLinear + ConvInteger (test_tract shows it): a wasm profile that does not forbid
    those ops may ask for dynamic int8."""
    text = Path(load_profile("wasm").path).read_text(encoding="utf-8")
    f = _write(tmp_path, text.replace('method = "static"', 'method = "dynamic"')
               .replace('forbid = ["ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"]', 'forbid = []'), "d.toml")
    assert load_profile(f).method == "dynamic"
    assert "dynamic" in capabilities()["tract"].quant_methods
