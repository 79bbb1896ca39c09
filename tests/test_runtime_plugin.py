"""Adding a runtime is one new file: a pure-Python reference runtime (onnx's own ReferenceEvaluator) is written as a
module next to the shipped runtimes (on the package's search path, in a temporary folder), found by file name,
checked by the profile loader against its declared capabilities, and verifies a real build; README.md shows its
snippet. Nothing in the repository is edited."""

import sys
import textwrap
from pathlib import Path

import pytest

import kanjiedge.export as export
from kanjiedge.dataset import load
from kanjiedge.errors import UserError
from kanjiedge.export.base import RUNTIMES
from kanjiedge.export.pipeline import build
from kanjiedge.models import load_model
from kanjiedge.profile import load_profile

PLUGIN = '''
"""onnx's reference evaluator (pure Python + numpy) as a kanjiedge runtime: slow, but an independent oracle."""

import numpy as np

from kanjiedge.export.base import Capability, Runtime, Session, register_runtime


class ReferenceSession(Session):
    def __init__(self, path):
        from onnx.reference import ReferenceEvaluator

        self.evaluator = ReferenceEvaluator(str(path))

    def run(self, x):
        return self.evaluator.run(None, {"image": np.asarray(x, dtype=np.float32)})[0]


@register_runtime("onnx-reference")
class ReferenceRuntime(Runtime):
    capability = Capability(precisions=("fp32",), max_opset=21, note="onnx.reference, pure Python")
    snippet = "from onnx.reference import ReferenceEvaluator  # pure Python: an oracle, not a deployment"

    def available(self):
        import onnx

        return True, f"onnx {onnx.__version__} reference evaluator"

    def load(self, model_path, threads=None):
        return ReferenceSession(model_path)
'''
REPO_EXPORT = Path(export.__file__).parent


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """kanjiedge/export/onnx_reference.py, as if dropped into the package (the folder is only on its path)."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "onnx_reference.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.setattr(export, "__path__", [*export.__path__, str(folder)])
    before = sorted(p.name for p in REPO_EXPORT.iterdir())
    yield "onnx-reference"
    RUNTIMES.pop("onnx-reference", None)
    export._found.discard("kanjiedge.export.onnx_reference")
    sys.modules.pop("kanjiedge.export.onnx_reference", None)
    assert sorted(p.name for p in REPO_EXPORT.iterdir()) == before  # nothing written into the repository


def test_new_runtime_file_is_found_and_its_capabilities_checked(plugin, tmp_path):
    """The file is found by name; a profile asking it for int8 is rejected with its own note."""
    assert plugin in export.runtime_names() and "kanjiedge.export.onnx_reference" in export.runtime_modules()
    bad = tmp_path / "ref-int8.toml"
    bad.write_text(f'runtimes = ["{plugin}"]\n[precision]\nprecision = "int8"\nmethod = "static"\n'
                   'calibration_samples = 8\n')
    with pytest.raises(UserError, match=r"precision 'int8' cannot run on onnx-reference \(onnx.reference, pure"):
        load_profile(bad)


@pytest.mark.slow
def test_new_runtime_verifies_a_build(plugin, tiny_checkpoint, tiny_dataset, tmp_path):
    """A profile naming the new runtime builds: it runs every test image, agrees with onnxruntime, has latency
    numbers, and README.md shows its snippet."""
    prof = tmp_path / "ref.toml"
    prof.write_text(f'description = "oracle"\nruntimes = ["onnxruntime", "{plugin}"]\n')
    model, meta = load_model(tiny_checkpoint)
    report = build(load_profile(prof), model, meta, load(tiny_dataset), tmp_path / "out", "0" * 64,
                   max_test=16, latency_runs=5)
    res = report["variants"]["model.onnx"]["runtimes"][plugin]
    assert res["status"] == "ok" and res["engine"].endswith("reference evaluator")
    assert res["top1_agreement_vs_reference"] == 1.0 and res["max_abs_logit_diff"] < 1e-3
    assert list(res["latency_ms"]) == ["threads=default"]
    assert "from onnx.reference import ReferenceEvaluator" in (tmp_path / "out" / "README.md").read_text()
