"""Thin, checked wrapper over the C codec (`kanjiedge._ke`, built from csrc/ by cffi).

Checks dtype, contiguity and shape of every buffer before handing it to C, and maps the C return codes to
Python exceptions. Sizes and constants come from the compiled library, not re-typed here. cffi releases the
GIL during each call, so `decode_batch` can run in several threads on disjoint output slices.
"""

from dataclasses import dataclass

import numpy as np

from kanjiedge._ke import ffi, lib
from kanjiedge.errors import InputError

VERSION = lib.ke_version()

# record type names <-> KE_T_* constants
TYPES = {"M": lib.KE_T_M, "K": lib.KE_T_K, "C": lib.KE_T_C, "B8": lib.KE_T_B8, "B9": lib.KE_T_B9,
         "G8": lib.KE_T_G8, "G9": lib.KE_T_G9}
MODES = {"none": lib.KE_NORM_NONE, "bbox": lib.KE_NORM_BBOX, "moment": lib.KE_NORM_MOMENT,
         "clean-bbox": lib.KE_NORM_CLEAN_BBOX, "clean-moment": lib.KE_NORM_CLEAN_MOMENT}
CLEAN_MAX_PIXELS = lib.KE_CLEAN_MAX_PIXELS
MAX_OUT = lib.KE_MAX_OUT
META_DTYPE = np.dtype([("code", "<u4"), ("sheet", "<u4"), ("aux", "<u4")])  # layout of ke_meta


class NativeError(InputError):
    """A C codec call failed (bad argument, truncated input, small buffer)."""


_ERRORS = {lib.KE_EARG: "bad argument", lib.KE_ETRUNC: "input truncated", lib.KE_EBUF: "output buffer too small"}


def _check(rc: int, what: str) -> None:
    if rc != lib.KE_OK:
        raise NativeError(f"{what}: {_ERRORS.get(rc, f'error code {rc}')}")


@dataclass(frozen=True)
class Layout:
    """Record layout of one type: bytes per record, image frame (width x height x bpp) and its byte offset."""

    record_bytes: int
    width: int
    height: int
    bpp: int
    image_offset: int

    @property
    def max_level(self) -> int:
        return (1 << self.bpp) - 1


def layout(rtype: str) -> Layout:
    """Layout of record type `rtype` ("M", "K", "C", "B8", "B9", "G8", "G9")."""
    out = ffi.new("ke_layout *")
    _check(lib.ke_layout_of(TYPES[rtype], out), f"layout {rtype}")
    return Layout(out.record_bytes, out.width, out.height, out.bpp, out.image_offset)


def out_shape(size) -> tuple[int, int]:
    """(H, W) for an int or (H, W) size; ValueError outside 1..MAX_OUT."""
    h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if not (0 < h <= MAX_OUT and 0 < w <= MAX_OUT):
        raise InputError(f"size must be 1..{MAX_OUT} per side, got {size!r}")
    return int(h), int(w)


def _writable_u8(a: np.ndarray, shape: tuple, name: str) -> None:
    if a.dtype != np.uint8 or a.shape != shape or not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{name} must be a writable C-contiguous uint8 array of shape {shape}")


def decode_raw(rtype: str, record: bytes) -> np.ndarray:
    """Raw levels (0 = paper .. 2^bpp-1) of one record, shape [height, width]."""
    lay = layout(rtype)
    out = np.empty((lay.height, lay.width), np.uint8)
    rc = lib.ke_decode_raw(TYPES[rtype], ffi.from_buffer(record), len(record), ffi.from_buffer(out), out.size)
    _check(rc, f"decode {rtype} record")
    return out


def decode_batch(rtype: str, data, n: int, images: np.ndarray, meta: np.ndarray | None, size=None,
                 mode: str = "none") -> None:
    """Decode records [0, n) of the buffer `data` into `images` (and `meta`, a META_DTYPE array, if given).

    Args:
        rtype: record type key of TYPES.
        data: bytes-like (bytes, memoryview of an mmap, ...) holding at least n records.
        n: number of records.
        images: uint8 [n, H, W] output; H, W = native frame when size is None, else the requested size.
        meta: META_DTYPE [n] output or None.
        size: None (raw levels) or int / (H, W) (scaled to 0..255).
        mode: a key of MODES (only "none" when size is None).
    """
    lay = layout(rtype)
    oh, ow = (0, 0) if size is None else out_shape(size)
    _writable_u8(images, (n, oh or lay.height, ow or lay.width), "images")
    if meta is not None and (meta.dtype != META_DTYPE or meta.shape != (n,) or not meta.flags.c_contiguous):
        raise ValueError(f"meta must be a C-contiguous {META_DTYPE} array of shape ({n},)")
    if mode not in MODES or (size is None and mode != "none"):
        raise ValueError(f"normalize must be one of {sorted(MODES)} ('none' when size is None), got {mode!r}")
    src = ffi.from_buffer("uint8_t[]", data)
    cmeta = ffi.NULL if meta is None else ffi.cast("ke_meta *", ffi.from_buffer(meta))
    try:
        need = lib.ke_normalize_work_size(lay.height, lay.width, MODES[mode]) if oh else 0
        work = np.empty((need + 7) // 8, np.uint64)  # cleaned modes: scratch here, not on the thread's stack
        rc = lib.ke_decode_batch_ex(TYPES[rtype], src, len(src), n, oh, ow, MODES[mode], ffi.from_buffer(images),
                                    cmeta, ffi.cast("void *", ffi.from_buffer(work)) if need else ffi.NULL, need)
    finally:
        ffi.release(src)  # an mmap cannot be closed while a buffer export is alive
    _check(rc, f"decode {n} {rtype} records")


def _grey(img: np.ndarray) -> np.ndarray:
    img = np.ascontiguousarray(img)
    if img.dtype != np.uint8 or img.ndim != 2 or 0 in img.shape:
        raise ValueError(f"img must be a non-empty uint8 [H, W] array, got {img.dtype} {img.shape}")
    return img


def _work(nbytes: int, what: str, shape) -> np.ndarray:
    """An 8-byte aligned scratch buffer for the C cleaning step (uint64 keeps the alignment)."""
    if nbytes == 0:
        raise ValueError(f"{what}: image {shape[0]}x{shape[1]} too large to clean (at most {CLEAN_MAX_PIXELS} "
                         "pixels and 65535 columns); shrink it first")
    return np.empty((nbytes + 7) // 8, np.uint64)


def normalize(img: np.ndarray, size=64, mode: str = "moment", max_level: int = 255) -> np.ndarray:
    """Resize/normalize one grey image with the C algorithm documented in csrc/ke.h.

    Args:
        img: uint8 [H, W], 0 = paper, `max_level` = full ink (invert photos of dark ink on white first).
        size: output side (int) or (H, W).
        mode: "none" (area resize of the whole frame), "bbox" (ink bounding box, aspect kept, touching the
            frame on the long side), "moment" (centre of mass to the centre, scale from second moments), or
            "clean-bbox" / "clean-moment" (the same after `clean`: paper, noise, edge fragments and specks gone).
        max_level: the level meaning full ink (255 for ordinary 8-bit images).

    Returns:
        uint8 [size, size] (or [H, W]), 0 = paper, 255 = full ink.
    """
    img = _grey(img)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    oh, ow = out_shape(size)
    out = np.empty((oh, ow), np.uint8)
    need = lib.ke_normalize_work_size(img.shape[0], img.shape[1], MODES[mode])
    work = _work(need, "normalize", img.shape) if mode.startswith("clean-") else np.empty(0, np.uint64)
    rc = lib.ke_normalize_ex(ffi.from_buffer(img), img.shape[0], img.shape[1], max_level, oh, ow, MODES[mode],
                             ffi.from_buffer(out), ffi.cast("void *", ffi.from_buffer(work)), work.nbytes)
    _check(rc, "normalize")
    return out


def clean(img: np.ndarray, max_level: int = 255) -> np.ndarray:
    """The cleaning step alone (csrc/ke.h steps C1-C6): same shape and levels, only the character's ink kept
    (paper level and noise removed, faint ink stretched, edge fragments and specks dropped)."""
    img = _grey(img)
    out = np.empty_like(img)
    work = _work(lib.ke_clean_work_size(img.shape[0], img.shape[1]), "clean", img.shape)
    rc = lib.ke_clean(ffi.from_buffer(img), img.shape[0], img.shape[1], max_level, ffi.from_buffer(out),
                      ffi.cast("void *", ffi.from_buffer(work)), work.nbytes)
    _check(rc, "clean")
    return out
