"""pytest setup for bench/: the pytest-benchmark micro-benchmarks carry the `microbench` marker, which
`make bench` selects (`pytest -o python_files='bench_*.py' -m microbench bench/`); the test suite (tests/)
never collects them."""


def pytest_configure(config):
    config.addinivalue_line("markers", "microbench: a pytest-benchmark micro-benchmark, run by `make bench`")
