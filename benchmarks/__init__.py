"""Speed and memory benchmarks (`make bench`). Each `*_bench.py` module exposes `run() -> list[dict]`:
rows measured side by side in one run, each with a `benchmark` name and a `ratio` where one applies."""
