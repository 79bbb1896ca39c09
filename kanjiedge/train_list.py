"""`kanjiedge train --list`: every registered architecture (each variant of a family) with its parameter count, its
recipe and the last accuracy BENCHMARKS.md records for it, with the data that accuracy was measured on.

The accuracies come from the table of the "## Architectures" section of BENCHMARKS.md (written from
`python -m bench.bench_archs`), so the list never shows a number that has no command next to it.
"""

import re
from pathlib import Path

from kanjiedge.models import count_params, create_model, list_models, model_variants, recipe_for

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
SECTION = "## Architectures"


def row_names() -> list[tuple[str, str | None, str]]:
    """(arch, model_type, row name as in the benchmark table: "vit", "rnn/basic_rnn") for every variant."""
    return [(a, t, a + (f"/{t}" if t else "")) for a in list_models() for t in model_variants(a)]


def measured(path: Path = BENCHMARKS) -> dict[str, str]:
    """{row name: "99.67 % test top-1 on synthetic writers (...)"} from the architectures table of BENCHMARKS.md."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    start = text.find(SECTION)
    if start < 0:
        return {}
    section = text[start:].split("\n## ", 1)[0]
    bench = re.search(r"^benchmark: (.+)$", section, re.M)
    where = f" ({bench.group(1).strip()})" if bench else ""
    header, out = None, {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if not cells or set(cells[0]) <= set("-: "):
            continue
        if header is None and any(c.startswith("test top-1") for c in cells):
            header = cells
            continue
        if header and len(cells) == len(header):
            out[cells[0]] = _describe(header, cells, where)
    return out


def _describe(header: list[str], cells: list[str], where: str) -> str:
    """"95.50 % test top-1 on synthetic writers (benchmark ...) after 30 epochs" from one table row."""
    col = next(i for i, c in enumerate(header) if c.startswith("test top-1"))
    data = re.search(r"\((.+)\)", header[col])
    text = f"{cells[col].replace('*', '')} test top-1 on {data.group(1) if data else '?'}{where}"
    runs = [i for i, c in enumerate(header) if c.startswith("epochs")]
    return text + (f" after {cells[runs[0]]} epochs" if runs else "")


def list_text(classes: list | None = None, image_size: int = 32, path: Path = BENCHMARKS) -> str:
    """The --list text. `classes`: the class list parameters are counted at (default: ETL9G's 3,036 classes)."""
    classes = classes or etl9g_classes()
    found = measured(path)
    lines = [f"architectures (parameters at {len(classes):,} classes, {image_size} px input; accuracy: last "
             f"measured in {path.name})", ""]
    for arch, mtype, row in row_names():
        kw = {**recipe_for(arch, mtype).options, **({"model_type": mtype} if mtype else {})}
        params = count_params(create_model(arch, len(classes), image_size, classes=classes, **kw))
        rec = recipe_for(arch, mtype)
        lines += [f"{row}: {params:,} parameters", f"  recipe: {rec.summary()}", f"  why: {rec.why}",
                  f"  last measured: {found.get(row, 'not measured yet')}", ""]
    return "\n".join(lines).rstrip() + "\n"


def etl9g_classes() -> list[dict]:
    """classes.json entries of the full ETL9G set, as `kanjiedge dataset` makes them (KanjiVG components)."""
    from kanjiedge import charsets
    from kanjiedge.dataset import class_info, class_order

    return [class_info(c) for c in class_order(charsets.charset("ETL9G").chars)]
