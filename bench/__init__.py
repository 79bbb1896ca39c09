"""kanjiedge benchmarks: decode (bench_decode), training throughput (bench_train), and the report (report)."""
