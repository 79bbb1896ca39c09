"""What an accuracy was measured on, in the words every report uses: "synthetic writers", "fonts never seen in
training", or the ETL files given. One place, so the model card, `kanjiedge evaluate`, bench.md and the docs agree.
"""

import json
from pathlib import Path

SYNTHETIC = "synthetic writers"
FONTS_OOD = "fonts never seen in training"


def of_etl_dir(path) -> str:
    """Name of a folder of ETL files given by the user (EVAL_DIR, --etl-dir)."""
    return f"the ETL files in {path}"


def is_synthetic(dataset_name: str, sources=()) -> bool:
    """True when a dataset was built from kanjiedge's synthetic writers (name or source paths say synth)."""
    return "synth" in str(dataset_name) or any("synth" in str(s) for s in sources)


def of_dataset(path, split: str = "test") -> str:
    """Name of a dataset split: "synthetic writers (test split of synth-etl9g)" or "held-out writers of the ETL
    files in data/etl (test split of etl)"."""
    path = Path(path)
    sources, etl_dir = [], ""
    manifest = path / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        sources = [s.get("path", "") for s in m.get("sources", [])]
        etl_dir = m.get("parameters", {}).get("etl_dir", "")
    where = f"{split} split of {path.name}"
    if is_synthetic(path.name, sources):
        return f"{SYNTHETIC} ({where})"
    return f"held-out writers of {of_etl_dir(etl_dir or path)} ({where})"
