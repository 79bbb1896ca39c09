"""Output safety: no command deletes or overwrites anything it did not create.

Every writing command goes through one of three doors:

- `staged(out, command, inputs)` for commands that produce a whole folder (dataset, edge, webpage):
  the folder is written as a hidden staging folder next to `out` and swapped in when complete, replacing `out`
  only when `out` is the same command's earlier output.
- `claim(out, command, inputs)` for commands that fill a folder file by file, each file renamed into place when
  complete (train: checkpoints resume from it; synth / fonts write: several formats may share one folder; the
  bench report: artifacts/reports also holds the other bench scripts' JSON). They only ever replace or remove
  files of their own names.
- `check_file(out, command, inputs)` for single-file outputs (PNGs): an existing file is replaced only when it is
  the command's own earlier picture (`mark_png`).

Own output is recognised by the marker file MARKER the command leaves in its folder, or, for folders written
before markers existed, by LEGACY: the names the earlier version wrote. Anything else is refused with one line
(`RefusedOutput`, exit 2), as is an `out` that equals, contains or lies inside one of the inputs (symlinks
resolved). Leftovers of interrupted runs (`.NAME.tmpPID` / `.NAME.oldPID` staging folders, `.FILE.tmpPID` temporary
files from `kanjiedge.atomic`) whose process is gone are removed by the next run, and only if they are ours.
"""

import contextlib
import glob
import json
import os
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from kanjiedge.errors import RefusedOutput

MARKER = ".kanjiedge-output.json"
STAGING_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)(?P<pid>\d+)$")  # also kanjiedge.atomic's temp files


@dataclass(frozen=True)
class Legacy:
    """What a command's folder looked like before markers: every entry's name matches `names` (a regex) and the
    `required` entries are present. A stamp a Makefile rule touches inside the folder counts as `required`."""

    names: str
    required: tuple = ()


_ETL = r"ETL[0-9A-Z]+(_\d+|C\d+)?"
LEGACY = {
    "dataset": Legacy(r"(images|labels|writers)\.npy|(classes|splits|manifest)\.json", ("manifest.json", "images.npy")),
    "train": Legacy(r"(best|last|ckpt-\d+)\.pt|metrics\.jsonl|model-card\.md", ("best.pt",)),
    "edge": Legacy(r"model[-.\w]*\.(onnx|safetensors)|(labels|preprocess|verify|verify\.failed)\.json|README\.md"
                   r"|trtexec\.txt|web", ("model.onnx", "labels.json", "preprocess.json")),
    "webpage": Legacy(r"[\w.-]+\.(html|js|mjs|css|wasm|onnx|json)", ("index.html", "model.onnx", "labels.json")),
    "synth": Legacy(_ETL, (".done",)),  # the Makefile's stamp: a real ETL folder never has it
    "fonts write": Legacy(r"ETL[0-9A-Z]+_?(5[1-9]|[6-9]\d|\d{3})"),  # font writers are numbered from 51
    "bench report": Legacy(r"(bench|archs|decode|dataset_bench|train_bench)\.(md|json)|[\w.-]+\.png"),  # + bench/*.py
}


def refuse(out, why: str):
    raise RefusedOutput(f"{out}: {why}")


def _real(p) -> Path:
    return Path(os.path.realpath(p))


def _check_parents(out: Path) -> None:
    """Refuse an `out` below an existing plain file (it could never be created)."""
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                refuse(out, f"{parent} is a file, not a folder")
            return


def check_inputs(out, inputs, command: str) -> None:
    """Refuse an `out` that equals, contains or lies inside an input (a dataset --out of its own ETL folder)."""
    ro = _real(out)
    for i in inputs:
        if i is None or str(i) == "":
            continue
        ri = _real(i)
        if ro == ri or ro in ri.parents or ri in ro.parents:
            rel = "is" if ro == ri else "contains" if ro in ri.parents else "is inside"
            refuse(out, f"{rel} the input {i} of kanjiedge {command}; choose an --out outside the inputs")


def read_marker(folder: Path) -> dict | None:
    try:
        m = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return m if isinstance(m, dict) else None
    except (OSError, ValueError):
        return None


def write_marker(folder: Path, command: str, files=None) -> None:
    from kanjiedge import __version__, atomic

    atomic.write_json(folder / MARKER, {"command": command, "kanjiedge_version": __version__,
                                        **({"files": sorted(files)} if files is not None else {})})


def is_own(folder: Path, command: str, leftover: bool = False) -> bool:
    """Is this folder `command`'s earlier output (empty, marked by it, or shaped like the previous version's)?
    A marked folder that lists its files must hold nothing else: a file the user added is never swapped away."""
    entries = [e.name for e in folder.iterdir() if e.name != MARKER]
    marker = read_marker(folder)
    if marker is not None:
        listed = marker.get("files")
        return marker.get("command") == command and (listed is None or set(entries) <= set(listed))
    if not entries:
        return True
    legacy = LEGACY.get(command)
    if legacy is None:
        return False
    ok = all(re.fullmatch(legacy.names, n) or n in legacy.required or _own_temp_name(n, legacy) for n in entries)
    return ok and (leftover or all(r in entries for r in legacy.required))


def _own_temp_name(name: str, legacy: Legacy) -> bool:
    m = STAGING_RE.match(name)
    return bool(m and re.fullmatch(legacy.names, m["name"]))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_folder(out, command: str, inputs=()) -> Path:
    """The common refusals; returns the real (symlink-resolved) folder to write."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        refuse(out, "is a broken symbolic link")
    if out.exists() and not out.is_dir():
        refuse(out, f"exists and is not a folder; kanjiedge {command} writes a folder there")
    _check_parents(out)
    check_inputs(out, inputs, command)
    if out.is_dir() and not is_own(out, command):
        refuse(out, f"is not empty and is not an earlier output of kanjiedge {command}; "
                    "choose another --out (nothing was written)")
    return _real(out)


def clean_leftovers(real: Path, command: str) -> None:
    """Remove `.NAME.tmpPID` staging folders of dead runs next to `real` that are ours; put back an `.oldPID`
    folder when a run died between its two renames (so `real` is missing)."""
    if not real.parent.is_dir():
        return
    for p in real.parent.iterdir():
        m = STAGING_RE.match(p.name)
        if not (m and m["name"] == real.name and p.is_dir() and not p.is_symlink() and not _alive(int(m["pid"]))):
            continue
        if not is_own(p, command, leftover=True):
            continue
        if m["kind"] == "old" and not real.exists():
            os.replace(p, real)
        else:
            shutil.rmtree(p)


def clean_temp_files(folder: Path) -> None:
    """In a folder of ours: remove `.FILE.tmpPID` files (kanjiedge.atomic) whose writer died mid-write."""
    for p in folder.iterdir():
        m = STAGING_RE.match(p.name)
        if m and m["kind"] == "tmp" and p.is_file() and not p.is_symlink() and not _alive(int(m["pid"])):
            p.unlink()


@contextlib.contextmanager
def staged(out, command: str, inputs=(), keep=None):
    """Yield a fresh staging folder next to `out`; on success it replaces `out`. On an error the staging folder
    goes away and `out` is untouched, unless `keep(staging)` says the partial result is worth showing (edge keeps
    verify.failed.json). Refuses (RefusedOutput) an unsafe `out` before anything is written."""
    real = check_folder(out, command, inputs)
    clean_leftovers(real, command)
    real.parent.mkdir(parents=True, exist_ok=True)
    tmp = real.with_name(f".{real.name}.tmp{os.getpid()}")
    if tmp.exists():  # our pid's name: an earlier staging folder of this very process, or refused
        if not is_own(tmp, command, leftover=True):
            refuse(tmp, f"is in the way of kanjiedge {command}'s staging folder and was not made by it")
        shutil.rmtree(tmp)
    tmp.mkdir()
    write_marker(tmp, command)
    try:
        yield tmp
        _swap(tmp, real, command)
    except Exception:
        if keep is not None and tmp.exists() and keep(tmp):
            _swap(tmp, real, command)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _swap(tmp: Path, real: Path, command: str) -> None:
    """Move the staging folder to `real`; an earlier output there (checked: ours) is moved aside, then deleted."""
    write_marker(tmp, command, [e.name for e in tmp.iterdir() if e.name != MARKER])
    old = real.with_name(f".{real.name}.old{os.getpid()}")
    if real.exists():
        if not is_own(real, command):  # re-checked: a user may have added files while we ran
            refuse(real, f"changed while kanjiedge {command} ran and now holds files it did not write; "
                         f"the new output is left in {tmp.name}")
        os.replace(real, old)
    os.replace(tmp, real)
    if old.exists():
        shutil.rmtree(old)


def claim(out, command: str, inputs=()) -> Path:
    """Check `out` for a command that fills it file by file, mark it, drop dead runs' temp files; returns it."""
    check_folder(out, command, inputs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if read_marker(out) is None:
        write_marker(out, command)
    clean_temp_files(out)
    return out


# ---------------------------------------------------------------- single files (PNG)

PNG_KEY = b"kanjiedge"


def check_file(out, command: str, inputs=()) -> Path:
    """Refuse a folder, an input, or an existing file that is not this command's earlier picture."""
    out = Path(out)
    if out.is_dir():
        refuse(out, f"is a folder; kanjiedge {command} writes one PNG file (give a file name such as x.png)")
    _check_parents(out)
    check_inputs(out, inputs, command)
    if out.exists() and not is_own_png(out, command):
        refuse(out, f"exists and was not written by kanjiedge {command}; choose another file name")
    for p in out.parent.glob(f".{glob.escape(out.name)}.tmp*") if out.parent.is_dir() else ():
        m = STAGING_RE.match(p.name)  # kanjiedge.atomic's temporary file of a killed run writing this very file
        if m and m["name"] == out.name and p.is_file() and not p.is_symlink() and not _alive(int(m["pid"])):
            p.unlink()
    return out


def mark_png(data: bytes, command: str) -> bytes:
    """Insert a tEXt chunk `kanjiedge=<command>` after the IHDR chunk (so a rerun knows the file is its own)."""
    body = PNG_KEY + b"\0" + command.encode()
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return data[:33] + chunk + data[33:]  # 8-byte signature + 25-byte IHDR chunk


def is_own_png(path: Path, command: str) -> bool:
    """Our tEXt chunk, or the previous version's picture: an 8-bit grey PNG holding only IHDR/IDAT/IEND chunks."""
    try:
        data = path.read_bytes()[:1 << 26]
    except OSError:
        return False
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    types, pos = [], 8
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"tEXt" and data[pos + 8:pos + 8 + n] == PNG_KEY + b"\0" + command.encode():
            return True
        types.append(kind)
        pos += 12 + n
    grey8 = len(data) > 26 and data[24] == 8 and data[25] == 0
    return grey8 and types[-1:] == [b"IEND"] and set(types) <= {b"IHDR", b"IDAT", b"IEND"}
