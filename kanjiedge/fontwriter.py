"""Font faces as ETL writers: glyphs of installed Debian fonts laid out like real records of an ETL set, written as
genuine ETL files (kanjiedge.synth's record encoders), one file and one writer per face.

    kanjiedge fonts list                                     # every face found, its split and package
    kanjiedge fonts write --split train --format etl9g --out artifacts/synth/fonts        # extra training writers
    kanjiedge fonts write --split ood --format etl9g --out /tmp/ood --plain                # the OOD check's input

Layout follows the measured real records (../shared/real-etl-profile.md, `LAYOUTS`): character height, centre
offset, stroke width, ink level, paper level and noise are drawn per sample from the real means and p10-p90
spreads; the glyph's size is set through its em box calibrated on "あ", so small kana stay small. Training
writers (`plain=False`) also get a synthetic writer's per-sample geometric variation: rotation, slant, aspect and
a smooth elastic warp. Strokes thinner than the sampled pencil width are thickened (never thinned).

File numbers start at FIRST_FILE (51: above every real file number) so that writer ids never collide with real or
synthetic writers: G/B-type face k is data set 200 + k + 1, M/C-type face k is sheet 5001 + k.
"""

import argparse
import contextlib
import math
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kanjiedge import charsets, fonts, outputs, synth
from kanjiedge.errors import UserError

FIRST_FILE = 51
SS = 2  # supersampling of the drawing canvas


@dataclass(frozen=True)
class Layout:
    """Mean and spread (sd) of how a character sits in real records, fractions of the frame / of full level."""

    height: tuple  # character (ink) height / frame height
    down: tuple  # centre offset downwards / frame height
    right: tuple  # centre offset rightwards / frame width
    stroke: tuple  # stroke width / frame height
    ink: tuple  # ink level, fraction of the top level
    paper: tuple  # paper (background) level
    noise: float  # paper noise sd


def _spread(p10: float, p90: float) -> float:
    return (p90 - p10) / 2.563  # sd of a normal with these 10th / 90th percentiles


LAYOUTS = {  # record type -> layout measured on real records (real-etl-profile.md)
    "G": Layout((0.421, _spread(0.307, 0.535)), (0.041, _spread(-0.022, 0.103)), (0.018, _spread(-0.039, 0.071)),
                (0.041, _spread(0.036, 0.045)), (0.79, _spread(0.67, 0.93)), (0.0, 0.0), 0.015),
    "M": Layout((0.547, _spread(0.397, 0.698)), (0.015, _spread(-0.069, 0.101)), (0.037, _spread(-0.032, 0.102)),
                (0.056, _spread(0.043, 0.073)), (0.48, _spread(0.40, 0.53)), (0.08, _spread(0.0, 0.133)), 0.038),
}
LAYOUTS["B"], LAYOUTS["C"] = LAYOUTS["G"], LAYOUTS["M"]


def _draw(rng, mean_sd: tuple, lo: float, hi: float) -> float:
    return float(np.clip(rng.normal(*mean_sd), lo, hi))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary glyph in pixels: 2 x ink area / contour length (a long stroke: 2wL / 2L)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    length = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(mask.sum()) / length if length else 0.0


def _thicken(glyph: np.ndarray, target_px: float) -> np.ndarray:
    """Dilate an ink image (uint8) until its strokes are about `target_px` wide; never thins."""
    have = _stroke_width(glyph > 127)
    grow = int(round(target_px - have))
    if grow < 1:
        return glyph
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1))
    return cv2.dilate(glyph, kernel)


def _affine(rng, plain: bool, em: float, centre: tuple) -> np.ndarray:
    """2x3 matrix from the em canvas to the frame canvas: rotation/slant/aspect (writers only), then placement."""
    rot, shear, aspect = (0.0, 0.0, 1.0) if plain else (rng.normal(0, 0.04), rng.normal(0, 0.08),
                                                        math.exp(rng.normal(0, 0.06)))
    c, s = math.cos(rot), math.sin(rot)
    lin = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([math.sqrt(aspect),
                                                                                       1 / math.sqrt(aspect)])
    return np.hstack([lin, (np.array(centre) - lin @ np.array([em / 2, em / 2]))[:, None]])


def _elastic(img: np.ndarray, rng, amp: float) -> np.ndarray:
    """Smooth random displacement (a writer's wobble), `amp` pixels at most-ish."""
    h, w = img.shape
    field = [cv2.resize(rng.normal(0, amp, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
             for _ in range(2)]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + field[0], gy + field[1], cv2.INTER_LINEAR, borderValue=0)


def render(char: str, font: fonts.Font, kind: str, frame: tuple, rng, plain: bool = False) -> np.ndarray | None:
    """One record image of `char` in `font`, laid out like a real record of type `kind` ("G", "M", ...).

    Returns:
        float32 [H, W] density 0 (paper) .. 1 (full level), or None when the face lacks the character.
    """
    lay = LAYOUTS[kind]
    h, w = frame
    em = _draw(rng, lay.height, 0.2, 0.85) * h / fonts.ink_height(font, ref="あ") * SS
    glyph = fonts.glyph_mask(char, font, max(8, int(round(em))))
    if glyph is None:
        return None
    glyph = _thicken(glyph, _draw(rng, lay.stroke, 0.02, 0.09) * h * SS)
    centre = ((0.5 + _draw(rng, lay.right, -0.25, 0.25)) * w * SS, (0.5 + _draw(rng, lay.down, -0.25, 0.25)) * h * SS)
    m = _affine(rng, plain, glyph.shape[0], centre)
    big = cv2.warpAffine(glyph, m, (w * SS, h * SS), flags=cv2.INTER_LINEAR, borderValue=0)
    if not plain:
        big = _elastic(big, rng, 0.012 * h * SS)
    cover = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    paper = max(0.0, _draw(rng, lay.paper, 0.0, 0.3))
    ink = _draw(rng, lay.ink, 0.25, 1.0)
    noise = rng.standard_normal(cover.shape, dtype=np.float32) * np.float32(lay.noise)
    return np.clip(paper + (max(ink, paper + 0.1) - paper) * cover + noise, 0, 1)


def levels(density: np.ndarray, fmt: synth.Format) -> np.ndarray:
    """Density -> the format's stored levels (uint8, 0 = paper); B-type: binarised and halved like ETL9B."""
    if fmt.kind == "B":
        return synth.binarize_half(np.rint(density * 15).astype(np.uint8))
    return np.rint(density * ((1 << fmt.bpp) - 1)).astype(np.uint8)


def face_records(fmt: synth.Format, cs: charsets.Charset, font: fonts.Font, k: int, seed: int,
                 plain: bool) -> bytes:
    """Every character of `cs` that face number `k` covers, as records of writer 200 + k (sheet 5001 + k)."""
    frame = (127, 128) if fmt.kind == "B" else fmt.frame
    covered = [(code, ch) for code, ch in zip(cs.codes, cs.chars) if fonts.covers(font, ch)]
    out = []
    for i, (code, ch) in enumerate(covered):
        rng = np.random.default_rng([seed, k, code, 0xF0])
        writer = 200 + k
        sheet = (5001 + k if fmt.kind in "MC"
                 else fmt.sheets_per_set * writer + 1 + i * fmt.sheets_per_set // len(covered))
        s = synth.Sample(code, ch, writer, i, i + 1, sheet)
        out.append(synth.encode(fmt, s, levels(render(ch, font, fmt.kind, frame, rng, plain), fmt)))
    return b"".join(out)


def _face_task(task) -> bytes:
    return face_records(*task)


def write(fmt_name: str, faces: list, out, seed: int = 0, chars=None, plain: bool = False,
          jobs: int | None = 1) -> list[Path]:
    """Write one ETL file per face (FIRST_FILE, FIRST_FILE + 1, ...) into `out`; returns the paths written.
    `jobs` worker processes render faces in parallel (None: all cores); output does not depend on it.

    Faces that cover none of the characters get no file. Raises UserError for formats without numbered files
    (ETL4, ETL5) or with typeface marks instead of writers (ETL2), and when `faces` is empty.
    """
    fmt = synth.get_format(fmt_name)
    if fmt.kind == "K" or "{i" not in fmt.file_pattern:
        raise UserError(f"{fmt.name}: font writers need a format with numbered files and writers "
                        "(etl9g, etl8g, etl9b, etl8b2, etl1, etl6, etl7, etl3)")
    fonts.require(faces, "usable")
    cs = charsets.select(charsets.charset(fmt.charset), chars)
    out = outputs.claim(out, "fonts write")
    paths, tasks = [], [(fmt, cs, face, k, seed, plain) for k, face in enumerate(faces)]
    jobs = min(len(tasks), jobs or os.cpu_count() or 1)
    with mp.get_context("fork").Pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        results = pool.imap(_face_task, tasks) if pool else map(_face_task, tasks)
        for k, data in enumerate(results):
            _save(out / fmt.file_pattern.format(i=FIRST_FILE + k), data, paths)
    return paths


def _save(path: Path, data: bytes, paths: list) -> None:
    """Write one face's records atomically (a face that covers nothing gets no file)."""
    from kanjiedge.atomic import write_bytes

    if data:
        write_bytes(path, data)
        paths.append(path)


# ---------------------------------------------------------------- CLI

def _list() -> int:
    found = fonts.scan()
    if not found:
        print(f"no Japanese font found under {', '.join(fonts.FONT_ROOTS)}; install them with `make fonts`")
    used = {f for s in ("train", "ood") for f in fonts.fonts_of(s)}
    for f in found:
        tag = f.split if f in used or f.split in ("reserved", "unclassified") else f"{f.split} (over the cap)"
        print(f"{tag:<18} {f.package or '-':<26} {f.name:<28} {f.family} {f.style}")
    return 0


def cli(argv: list[str]) -> int:
    """`kanjiedge fonts`: list the installed Japanese fonts, or write font writers as ETL files."""
    p = argparse.ArgumentParser(prog="kanjiedge fonts", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="every Japanese face found: split (train / ood / reserved), package, family")
    w = sub.add_parser("write", help="one ETL file per face of a split")
    w.add_argument("--split", choices=["train", "ood"], required=True)
    w.add_argument("--format", default="etl9g", choices=sorted(synth.FORMATS))
    w.add_argument("--out", required=True, help="output folder")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--chars", type=lambda t: int(t) if t.isdigit() else t, default=None,
                   help="subset: N characters spread over the set, or a string of characters")
    w.add_argument("--plain", action="store_true", help="layout only, no writer variation (the OOD check)")
    w.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    a = p.parse_args(argv)
    if a.cmd == "list":
        return _list()
    faces = fonts.require(fonts.fonts_of(a.split), f"{a.split}-split")
    paths = write(a.format, faces, a.out, a.seed, a.chars, a.plain, a.jobs)
    print(f"wrote {len(paths)} file(s) ({len(faces)} {a.split} faces as writers) to {a.out}")
    return 0
