"""`kanjiedge dataset`: a folder of ETL files -> one training-ready dataset folder, and `load()` for consumers.

    kanjiedge dataset --etl-dir artifacts/synth/etl9g --out artifacts/dataset/synth-etl9g

Finds ETL files under --etl-dir (recursively; INFO files and dot-files skipped), detects which sets are present,
decodes every record with the C codec (kanjiedge.etl.read: cleaning, then resize + moment normalization to 64x64),
merges classes by character across sets, and writes (see ARCHITECTURE.md "Dataset folder"):

    images.npy  uint8 [N,64,64] (0 = paper, 255 = ink), filled in place through a memmap, never held twice
    labels.npy  int32 [N] class index      writers.npy int32 [N] globally unique writer id
    classes.json  splits.json (writer-disjoint train/val/test)  manifest.json (written last)

Everything is built in a temporary sibling folder that is renamed into place only when complete, so an
interrupted run leaves either the previous dataset or nothing. When both the binarised (ETL8B2/ETL9B) and the grey
(ETL8G/ETL9G) version of a database are present, only the grey files are used (they hold the same samples).
"""

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kanjiedge import checks, outputs
from kanjiedge.errors import UserError
from kanjiedge.hashing import sha256_file

DEFAULTS = {"size": 64, "normalize": "clean-moment", "seed": 0}

@dataclass
class Source:
    """One ETL file found under --etl-dir."""

    path: Path
    family: str  # "ETL9", "ETL8", "ETL1", ...
    variant: str  # kanjiedge.etl format name: "ETL9G", "ETL9B", "ETL8G", "ETL8B2", "ETL1", ...
    number: int  # file number from the name (ETL9G_07 -> 7), 1 if none
    records: int = 0  # records in the file (B-types: without the dummy)
    no_char: int = 0  # records left out because their code has no character (ETL2 '▲')
    sha256: str = ""
    format: str = ""  # as reported by kanjiedge.etl
    train_only: bool = False  # from --train-only: its writers always go to the training split


def classify(path: Path) -> Source | None:
    """Source for an ETL data file name (ETL9G_01, ETL8B2C1, ETL1C_07, ETL7LC_1, ETL4C ...), None otherwise."""
    from kanjiedge import etl

    if path.name.startswith(".") or "INFO" in path.name.upper():
        return None
    try:
        fmt, number = etl.detect(path)
    except etl.ETLError:
        return None
    return Source(path, re.match(r"ETL\d", fmt.name).group(0), fmt.name, number)


def find_sources(etl_dir) -> tuple[list[Source], list[str]]:
    """ETL files under `etl_dir` (sorted), and notes on files skipped as duplicates.

    Raises:
        UserError: the folder does not exist or holds no ETL files.
    """
    etl_dir = Path(etl_dir)
    if not etl_dir.is_dir():
        raise UserError(f"{etl_dir}: not a folder")
    found = sorted((s for p in etl_dir.rglob("*") if p.is_file() and (s := classify(p))),
                   key=lambda s: (s.variant, s.number, str(s.path)))
    if not found:
        raise UserError(f"{etl_dir}: no ETL files found (expected names like ETL9G_01, ETL8B2C1, ETL1C_01)")
    grey = {s.family for s in found if s.variant.endswith("G")}
    binary = [s for s in found if "B" in s.variant and s.family in grey]
    notes = [f"{s.path}: skipped, the {s.family}G files hold the same samples in grey" for s in binary]
    return [s for s in found if s not in binary], notes


def expected_records(src: Source) -> int:
    """Records the decoder will return for a file (checks its size; B-types lose their dummy record)."""
    from kanjiedge import etl

    return etl.inspect_file(src.path).count


# ---------------------------------------------------------------- classes and splits

def jis_code(ch: str) -> int | None:
    """JIS X 0208 row/cell code of a character (亜 -> 0x3021), None if it has none."""
    try:
        b = ch.encode("euc_jp")
    except UnicodeEncodeError:
        return None
    return ((b[0] & 0x7F) << 8 | (b[1] & 0x7F)) if len(b) == 2 and b[0] >= 0xA1 else None


def class_info(ch: str) -> dict:
    """classes.json entry: char, jis, codepoint, strokes and components from KanjiVG (None / [] if absent; the
    symbols KanjiVG lacks get kanjiedge.symbol_strokes' stroke count and no components)."""
    from kanjiedge import kanjivg, symbol_strokes

    strokes, components = None, []
    if symbol_strokes.has(ch):
        strokes = len(symbol_strokes.strokes(ch))
    elif kanjivg.has(ch):
        strokes, components = kanjivg.metadata(ch)  # no stroke-path parsing: 50x faster than load()
        components = list(components)
    return {"char": ch, "jis": jis_code(ch), "codepoint": ord(ch), "strokes": strokes, "components": components}


def class_order(chars) -> list[str]:
    """Classes sorted by JIS X 0208 code (hiragana before kanji), characters without one after, by code point."""
    return sorted(set(chars), key=lambda c: (jis_code(c) is None, jis_code(c) or 0, ord(c)))


def split_writers(writers, val: int | None = None, test: int | None = None, seed: int = 0) -> dict:
    """Writer-disjoint split: {"train": [...], "val": [...], "test": [...]} (sorted id lists).

    Default sizes scale like 12/2/2 of 16 (round(n/8), at least 1 each). Deterministic for (writers, seed).

    Raises:
        UserError: fewer than 3 writers, or the requested sizes leave no training writer.
    """
    ids = np.array(sorted(set(int(w) for w in writers)), dtype=np.int64)
    n = len(ids)
    if n < 3:
        raise UserError(f"need at least 3 writers for a writer-disjoint train/val/test split, found {n}")
    val = max(1, round(n / 8)) if val is None else val
    test = max(1, round(n / 8)) if test is None else test
    if val < 1 or test < 1 or val + test >= n:
        raise UserError(f"--val-writers {val} --test-writers {test}: must be >= 1 and leave training writers (of {n})")
    order = np.random.default_rng(seed).permutation(ids)
    return {"train": sorted(order[val + test:].tolist()), "val": sorted(order[:val].tolist()),
            "test": sorted(order[val:val + test].tolist())}


# ---------------------------------------------------------------- build

class _Accumulator:
    """Labels and writers of decoded files, as small ints into growing vocabularies (no per-record strings)."""

    def __init__(self):
        self.chars, self.writer_keys = {}, {}  # char -> local id, (train_only, family, key) -> local id
        self.labels, self.writers = [], []  # int32 arrays per file
        self.pinned = []  # writer ids (after finish) of --train-only sources

    def add(self, src: Source, rec, keep: np.ndarray):
        """Records of one file; `keep` (bool [N]) drops those that have no character (ETL2 '▲')."""
        uniq, inverse = np.unique(np.asarray(rec.codes, np.int64), return_inverse=True)
        inverse = inverse.ravel()
        first = np.empty(len(uniq), np.int64)
        first[inverse] = np.arange(len(inverse))  # a record of each code gives its label (a file's label = f(code))
        chars = [rec.labels[i] for i in first.tolist()]
        keys, key_index = np.unique(np.asarray(rec.writers, np.int64), return_inverse=True)
        writers = [(src.train_only, src.family, k) for k in keys.tolist()]
        self.labels.append(_ids(self.chars, chars, inverse, keep))
        self.writers.append(_ids(self.writer_keys, writers, key_index.ravel(), keep))

    def finish(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(class chars in class order, labels int32 [N], writers int32 [N] numbered by sorted (family, key))."""
        classes = class_order(self.chars)
        index = {c: i for i, c in enumerate(classes)}
        to_class = np.array([index[c] for c in self.chars], dtype=np.int32)  # local id -> class index
        sorted_keys = sorted(self.writer_keys)
        rank = {k: i for i, k in enumerate(sorted_keys)}
        to_writer = np.array([rank[k] for k in self.writer_keys], dtype=np.int32)
        self.pinned = [rank[k] for k in sorted_keys if k[0]]
        labels = to_class[np.concatenate(self.labels)] if self.labels else np.zeros(0, np.int32)
        writers = to_writer[np.concatenate(self.writers)] if self.writers else np.zeros(0, np.int32)
        return classes, labels, writers


def _ids(vocab: dict, items: list, index: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """vocab ids (int32) of items[index[keep]], adding to `vocab` only the items some kept record uses."""
    used = np.zeros(len(items), bool)
    used[index[keep]] = True
    ids = np.array([vocab.setdefault(x, len(vocab)) if u else -1 for x, u in zip(items, used.tolist())], np.int32)
    return ids[index[keep]]


def _decode_into(images, sources, size, normalize, acc, progress) -> int:
    """Decode every source straight into consecutive slices of `images` (memmap [N,S,S]), dropping records with
    no character; fills acc and the source fields and returns the number of images kept. The files are hashed
    in a second thread meanwhile (hashlib releases the GIL, the decoder runs in C)."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from kanjiedge import etl

    hasher = ThreadPoolExecutor(1, thread_name_prefix="sha256")
    digests = [hasher.submit(sha256_file, src.path) for src in sources]
    offset = 0
    try:
        with tqdm(total=len(images), unit="rec", desc="dataset", disable=not progress, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            for src in sources:
                rec = etl.read_many([src.path], size, normalize, out=images[offset:offset + src.records])
                keep = ~rec.no_char
                src.format, src.no_char = rec.format, int(rec.no_char.sum())
                if src.no_char:
                    images[offset:offset + len(rec) - src.no_char] = images[offset:offset + len(rec)][keep]
                acc.add(src, rec, keep)
                offset += len(rec) - src.no_char
                bar.update(len(rec))
        for src, digest in zip(sources, digests):
            src.sha256 = digest.result()
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
    return offset


def build(etl_dir, out, size: int = 64, normalize: str = DEFAULTS["normalize"], val_writers: int | None = None,
          test_writers: int | None = None, seed: int = 0, progress: bool = True, train_only=None) -> Path:
    """Build a dataset folder from the ETL files under `etl_dir`.

    Args:
        etl_dir: folder searched recursively for ETL files.
        out: dataset folder to (re)create, e.g. artifacts/dataset/synth-etl9g.
        size: output image side (images are size x size).
        normalize: "clean-moment" (default), "clean-bbox", "moment", "bbox" or "none" (kanjiedge.etl.read).
        val_writers, test_writers: writers held out for validation / test (default round(n/8), >= 1).
        seed: seed of the writer split.
        progress: show a tqdm bar on stderr.
        train_only: optional folder of extra ETL files (e.g. `kanjiedge fonts write --split train`) whose writers
            always go to the training split, so validation and test stay the writers of `etl_dir`.

    Returns:
        The dataset folder.

    Raises:
        UserError: no ETL files, an unreadable file (message names it), or too few writers to split.
    """
    from numpy.lib.format import open_memmap

    sources, notes = find_sources(etl_dir)
    if train_only:
        extra, extra_notes = find_sources(train_only)
        sources, notes = sources + [replace(s, train_only=True) for s in extra], notes + extra_notes
    for src in sources:
        src.records = expected_records(src)
    with outputs.staged(out, "dataset", [etl_dir, train_only]) as tmp:
        images = open_memmap(tmp / "images.npy", mode="w+", dtype=np.uint8,
                             shape=(sum(s.records for s in sources), size, size))
        acc = _Accumulator()
        kept = _decode_into(images, sources, size, normalize, acc, progress)
        del images  # no msync: the page cache holds the data (see _shrink_npy for why that is enough)
        if kept < sum(s.records for s in sources):
            _shrink_npy(tmp / "images.npy", kept)
        classes, labels, writers = acc.finish()
        params = {"etl_dir": str(etl_dir), "train_only": str(train_only) if train_only else None, "size": size,
                  "normalize": normalize, "val_writers": val_writers, "test_writers": test_writers, "seed": seed}
        _write_metadata(tmp, sources, notes, classes, labels, writers, params, acc.pinned)
    return Path(out)


def _write_metadata(folder: Path, sources, notes, classes, labels, writers, params, pinned=()) -> None:
    """labels.npy, writers.npy, classes.json, splits.json, then manifest.json (last: its presence = complete)."""
    from kanjiedge import atomic, native

    np.save(folder / "labels.npy", labels)
    np.save(folder / "writers.npy", writers)
    atomic.write_json(folder / "classes.json", [class_info(c) for c in classes], indent=None)  # C encoder: 10x faster
    splits = split_writers(np.setdiff1d(writers, pinned), params["val_writers"], params["test_writers"], params["seed"])
    splits["train"] = sorted(splits["train"] + list(pinned))
    splits["counts"] = {name: {"writers": len(ids), "samples": int(np.isin(writers, ids).sum())}
                        for name, ids in list(splits.items())}
    atomic.write_json(folder / "splits.json", splits)
    from kanjiedge import __version__

    manifest = {
        "sources": [{"path": str(s.path), "sha256": s.sha256, "format": s.format, "records": s.records,
                     "no_character": s.no_char, **({"train_only": True} if s.train_only else {})}
                    for s in sources],
        "skipped": notes,
        "decoder_version": native.VERSION,
        "kanjiedge_version": __version__,
        "parameters": params,
        "counts": {"samples": int(len(labels)), "classes": len(classes), "writers": int(len(np.unique(writers))),
                   **{k: v["samples"] for k, v in splits["counts"].items()}},
        "files": ["images.npy", "labels.npy", "writers.npy", "classes.json", "splits.json"],
    }
    atomic.write_json(folder / "manifest.json", manifest)


def _shrink_npy(path: Path, rows: int) -> None:
    """Cut an .npy file to its first `rows` rows: rewrite the header in place (numpy pads it for this) and
    truncate. Like the rest of the folder the data is not fsync'd: the folder is complete for every later
    process (the page cache holds it), and only a power cut before the kernel writes it back could lose it."""
    from numpy.lib import format as npf

    with open(path, "r+b") as f:
        npf.read_magic(f)
        shape, fortran, dtype = npf.read_array_header_1_0(f)
        start = f.tell()
        f.seek(0)
        header = {"descr": npf.dtype_to_descr(dtype), "fortran_order": fortran, "shape": (rows, *shape[1:])}
        npf.write_array_header_1_0(f, header)
        if f.tell() != start:
            raise UserError(f"{path}: cannot shrink the .npy header in place")
        f.truncate(start + rows * int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize)


# ---------------------------------------------------------------- consumers

class Dataset:
    """A built dataset folder: `.images` (uint8 memmap [N,S,S]), `.labels`, `.writers` (int32 [N]), `.classes`
    (list of dicts from classes.json), `.splits`, `.manifest`; `split_indices(name)` -> int64 row indices."""

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "manifest.json").is_file():
            raise UserError(f"{self.path}: not a complete dataset folder (no manifest.json); run `kanjiedge dataset`")
        self.images = checks.npy(self.path / "images.npy", mmap_mode="r")
        self.labels = np.load(self.path / "labels.npy")
        self.writers = np.load(self.path / "writers.npy")
        self.classes = json.loads((self.path / "classes.json").read_text(encoding="utf-8"))
        self.splits = json.loads((self.path / "splits.json").read_text(encoding="utf-8"))
        self.manifest = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))

    def __len__(self):
        return len(self.labels)

    @property
    def chars(self) -> list[str]:
        return [c["char"] for c in self.classes]

    def split_indices(self, name: str) -> np.ndarray:
        """Row indices (int64, ascending) of the samples whose writer is in split `name` ("train"/"val"/"test")."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}; use train, val or test")
        return np.flatnonzero(np.isin(self.writers, self.splits[name])).astype(np.int64)


def load(path) -> Dataset:
    """Open a dataset folder written by `build` (images are memory-mapped, not read)."""
    return Dataset(path)


# ---------------------------------------------------------------- CLI

def cli(argv: list[str]) -> int:
    """`kanjiedge dataset`: ETL files -> dataset folder."""
    from kanjiedge import etl

    p = argparse.ArgumentParser(prog="kanjiedge dataset", description=__doc__.split("\n\n")[0])
    p.add_argument("--etl-dir", required=True, help="folder with ETL files (searched recursively)")
    p.add_argument("--out", required=True, help="dataset folder to write, e.g. artifacts/dataset/synth-etl9g")
    p.add_argument("--size", type=int, default=DEFAULTS["size"], help="image side in pixels (default 64)")
    p.add_argument("--normalize", default=DEFAULTS["normalize"], choices=list(etl.MODES),
                   help="position/size normalization done by the C codec (default clean-moment: edge fragments, "
                   "specks, paper and noise removed first)")
    p.add_argument("--val-writers", type=int, default=None, help="writers held out for validation (default n/8)")
    p.add_argument("--test-writers", type=int, default=None, help="writers held out for testing (default n/8)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of the writer split")
    p.add_argument("--train-only", default=None, metavar="DIR",
                   help="extra ETL files (e.g. font writers) whose writers only ever go to the training split")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    out = build(a.etl_dir, a.out, a.size, a.normalize, a.val_writers, a.test_writers, a.seed, not a.no_progress,
                a.train_only)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]
    print(f"{out}: {m['samples']} samples, {m['classes']} classes, {m['writers']} writers "
          f"(train {m['train']}, val {m['val']}, test {m['test']})")
    return 0
