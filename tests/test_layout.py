"""The project's layout rules, checked on the source itself:

* every module a Makefile step runs (transitively, imports inside functions included) and every data file those
  modules read is a prerequisite of that step's rule, so editing one rebuilds what depends on it;
* no import cycle between modules of kanjiedge/ and bench/ (imports inside functions included);
* no module in kanjiedge/ or bench/ is over 400 lines.

Imports are read with `ast`. A package that finds its modules by file name (`pkgutil.iter_modules(__path__)`, as
kanjiedge.models and kanjiedge.export do) imports every module in its folder; importing a submodule runs its
packages' __init__.py files first (both count for prerequisites; only written imports count for cycles).
"""

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kanjiedge", "bench")
MAX_LINES = 400


@cache
def modules() -> dict[str, Path]:
    """{dotted name: file} of every module in PACKAGES (packages as their __init__.py)."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _resolve(module, node):
    """Absolute module name an ImportFrom refers to (relative imports resolved against `module`)."""
    if not node.level:
        return node.module
    base = module.split(".")
    is_pkg = modules()[module].name == "__init__.py"
    base = base[:len(base) - node.level + (1 if is_pkg else 0)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def written_imports(module) -> frozenset:
    """Internal modules `module` imports anywhere in its source (module level or inside functions)."""
    known, out = modules(), set()
    tree = ast.parse(known[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            subs = {f"{target}.{a.name}" for a in node.names} & set(known)
            out |= subs or {target}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant)):
            out.add(node.args[0].value)
    return frozenset(m for m in out if m in known and m != module)


def run_time_imports(module) -> set:
    """What importing `module` executes besides its written imports: its parent packages' __init__, and every
    sibling module when it finds them by file name."""
    known, out = modules(), set()
    parts = module.split(".")
    out |= {".".join(parts[:i]) for i in range(1, len(parts))} & set(known)
    if "pkgutil.iter_modules(__path__)" in known[module].read_text(encoding="utf-8"):
        out |= {m for m in known if m.rsplit(".", 1)[0] == module and m != module}
    return out


def closure(entries) -> set:
    seen, todo = set(), list(entries)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += [*written_imports(m), *run_time_imports(m)]
    return seen


# Names a module quotes without reading the package file of that name: outputs.py recognises a previous version's
# web page folder by its file names ("index.html"), it never opens kanjiedge/web/index.html.
NAMED_NOT_READ = {("kanjiedge.outputs", "index.html")}


def data_files(module) -> set:
    """Non-Python files of the package folders that `module`'s source names (e.g. "co59.tsv", "ortweb_runner.mjs")."""
    src = modules()[module].read_text(encoding="utf-8")
    files = [f for pkg in PACKAGES for f in (ROOT / pkg).rglob("*") if f.is_file() and f.suffix not in (".py", ".so",
                                                                                                         ".pyc")]
    named = {f for f in files if f'"{f.name}"' in src or f"'{f.name}'" in src}
    return {f for f in named if (module, f.name) not in NAMED_NOT_READ}


def inputs(entries) -> set[str]:
    """Repository-relative paths of every module file and data file the entry modules run or read."""
    mods = closure(entries)
    files = {modules()[m] for m in mods} | {f for m in mods for f in data_files(m)}
    return {str(f.relative_to(ROOT)) for f in files}


# ---- Makefile ------------------------------------------------------------------------------------------------

@cache
def make_rules() -> dict[str, tuple[set, str]]:
    """{target: (normal prerequisites, recipe)} from make's own database (variables expanded as make does)."""
    db = subprocess.run(["make", "-pq", "-f", "Makefile", "__no_such_target__"], cwd=ROOT, capture_output=True,
                        text=True).stdout
    rules, lines = {}, db.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^([^#\s=:][^=:]*?):(?!=)\s*(.*)$", line)
        if not m or line.startswith(("\t", "#")):
            continue
        recipe = []
        for nxt in lines[i + 1:]:
            if nxt.startswith("\t"):
                recipe.append(nxt)
            elif nxt.startswith("#"):
                continue
            else:
                break
        rules[m.group(1).strip()] = (set(m.group(2).split("|")[0].split()), "\n".join(recipe))
    return rules


def step_entries(recipe) -> list[str]:
    """The Python modules a recipe line runs: `-m kanjiedge CMD` (via kanjiedge.cli.COMMANDS), `-m pkg.mod`."""
    from kanjiedge.cli import COMMANDS

    entries = []
    for cmd in re.findall(r"-m kanjiedge (\w+)", recipe):
        entries += ["kanjiedge.__main__", "kanjiedge.cli", COMMANDS[cmd][0]]
    entries += [m for m in re.findall(r"-m ((?:kanjiedge|bench)\.[\w.]+)", recipe) if m in modules()]
    return entries


STEPS = [rule for rule in ("artifacts/dataset/{}/manifest.json", "artifacts/models/%/model-card.md",
                           "artifacts/edge/%/verify.json", "artifacts/reports/bench.json",
                           "artifacts/synth/sets/%/.done", "artifacts/synth/fonts/.done")]


def _rule(pattern):
    if "{}" not in pattern:
        return pattern
    return next(t for t in make_rules() if re.fullmatch(pattern.format(r"[^/]+"), t))


@pytest.mark.parametrize("pattern", STEPS, ids=lambda s: s.split("/")[1])
def test_every_input_of_a_step_is_a_prerequisite(pattern):
    """Each step's rule lists every module its command imports (transitively) and every data file they read."""
    target = _rule(pattern)
    prereqs, recipe = make_rules()[target]
    entries = step_entries(recipe)
    assert entries, f"{target}: no Python command found in its recipe"
    missing = sorted(inputs(entries) - prereqs)
    assert not missing, f"{target} does not list {missing}"


def test_stamp_rules_create_their_file():
    """A file rule whose recipe never creates its target reruns forever: every stamp rule touches its target."""
    for target, (_, recipe) in make_rules().items():
        if target.endswith((".stamp", ".installed", ".done")) and recipe:
            assert "touch $@" in recipe, target


def test_the_browser_stamp_is_a_real_file_rule():
    assert "build/chromium.stamp" in make_rules()["test"][0]


# ---- imports and sizes ---------------------------------------------------------------------------------------

def _cycle_from(start):
    """One import cycle through `start` (list of modules), or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        m, path = stack.pop()
        for nxt in written_imports(m):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_no_import_cycles():
    """No module reaches itself through imports, inside functions included."""
    cycles = {tuple(sorted(set(c))): c for m in modules() if (c := _cycle_from(m))}
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles.values())


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_size(module):
    """No module over 400 lines: a newcomer reads one whole (the style study's budget)."""
    n = len(modules()[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{modules()[module].relative_to(ROOT)}: {n} lines (limit {MAX_LINES})"


def test_micro_benchmarks_run_under_make_bench():
    """Every pytest-benchmark function in bench/ has the `microbench` marker, and `make bench` runs that marker."""
    for f in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and "benchmark" in [a.arg for a in node.args.args]:
                marks = [ast.unparse(d) for d in node.decorator_list]
                assert "pytest.mark.microbench" in marks, f"{f.name}: {node.name} lacks @pytest.mark.microbench"
    assert "$(A)/reports/microbench.json" in open(ROOT / "Makefile").read().split("\nbench:", 1)[1].splitlines()[0]
    assert "-m microbench bench/" in make_rules()["artifacts/reports/microbench.json"][1]
