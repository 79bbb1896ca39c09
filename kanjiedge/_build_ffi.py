"""cffi API-mode build of the C codec (`kanjiedge._ke`): `python setup.py build_ext --inplace` or `pip install -e .`.

The cdef is csrc/ke.h itself (cffi strips its comments): the include guard and #includes are dropped, and every
`#define KE_...` becomes `#define KE_... ...`, so constant values come from the compiled header. A function added to
ke.h is therefore bound without a second copy of its declaration here."""

import re
from pathlib import Path

from cffi import FFI

HEADER = Path(__file__).resolve().parent.parent / "csrc" / "ke.h"


def cdef_from_header(text: str) -> str:
    """ke.h -> cdef: constants as `...` (API mode fills them in), other preprocessor lines removed."""
    out = []
    for line in text.splitlines():
        define = re.match(r"\s*#\s*define\s+(KE_[A-Z0-9_]+)\s+\S", line)
        if define:
            out.append(f"#define {define.group(1)} ...")
        elif not line.lstrip().startswith("#"):
            out.append(line)
    return "\n".join(out)


ffibuilder = FFI()
ffibuilder.cdef(cdef_from_header(HEADER.read_text()))
ffibuilder.set_source(
    "kanjiedge._ke",
    '#include "ke.h"',
    # relative paths: editable installs reject absolute ones
    sources=["csrc/ke_record.c", "csrc/ke_image.c", "csrc/ke_clean.c"],
    include_dirs=["csrc"],
    # ISO C11 (not gnu11) keeps GCC from contracting a*b+c into FMA, so the doubles match csrc/ke.h's algorithm
    # and the web page's JS port exactly.
    extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
