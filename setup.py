from setuptools import setup

setup(cffi_modules=["kanjiedge/_build_ffi.py:ffibuilder"])
