"""cffi API-mode build of the C codec: `python setup.py build_ext --inplace` (or `pip install -e .`)."""

from cffi import FFI

ffibuilder = FFI()
ffibuilder.cdef("int ke_version(void);")
ffibuilder.set_source(
    "kanjiedge._ke",
    '#include "ke.h"',
    sources=["csrc/ke_record.c"],  # relative: editable installs reject absolute paths
    include_dirs=["csrc"],
    extra_compile_args=["-O3", "-std=c11"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
