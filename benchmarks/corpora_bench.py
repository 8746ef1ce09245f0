"""Corpus build throughput (rows/s) and peak memory, on real data.

- parallel: NTREX-128 en-hi and TICO-19 en-hi repeated to ~1M line pairs, streamed from temp files
  (each copy gets its copy number appended, so rows stay distinct and all of them are written), built
  with num_proc 1 and 2;
- tagged: 2,000 Hindi news lines (NTREX) through the hindiwsd CRF taggers, num_proc 1 and 2.

Each build runs in a fresh Python process, so its memory is that build's alone: `peak_rss_mb` is the
main process's ru_maxrss, which also counts the pages of the memory-mapped Arrow files it touched;
`peak_anon_mb` is its peak anonymous memory (heap; sampled every 50 ms), the figure that shows rows are
not held in Python lists; `workers_peak_rss_mb` is the largest worker's. `EMBEDKIT_BENCH_LINES` scales
the parallel size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from corpora.readers import text_lines

CHILD = """
import json, re, resource, sys, threading, time
from corpora import build_corpus, read_manifest
peak = {"anon": 0}
def sample():  # RssAnon: the heap, without the memory-mapped Arrow files that ru_maxrss also counts
    while True:
        status = open("/proc/self/status").read()
        peak["anon"] = max(peak["anon"], int(re.search(r"RssAnon:\\s+(\\d+)", status).group(1)))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
kind, inputs, langs, out, num_proc = json.loads(sys.argv[1])
start = time.perf_counter()
build_corpus(kind, inputs, langs, out, num_proc=num_proc)
seconds = time.perf_counter() - start
manifest = read_manifest(out)
print(json.dumps({
    "seconds": seconds,
    "rows_in": manifest["rows_in"],
    "rows_out": manifest["rows_out"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "peak_anon_mb": peak["anon"] / 1024,
    "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def _shared() -> Path:
    from embedkit.paths import shared_data_dir

    return shared_data_dir()


def _repeat(pairs: list[tuple[Path, Path]], lines: int, folder: Path) -> tuple[Path, Path, int]:
    """Write en/hi files of about `lines` aligned lines by repeating the real pairs."""
    sources = [(text_lines(a), text_lines(b)) for a, b in pairs]
    block = sum(len(en) for en, _ in sources)
    copies = max(1, round(lines / block))
    en_path, hi_path = folder / "bench.en", folder / "bench.hi"
    with open(en_path, "w", encoding="utf-8") as en_out, open(hi_path, "w", encoding="utf-8") as hi_out:
        for copy in range(copies):
            for en_lines, hi_lines in sources:
                en_out.write("".join(f"{line} {copy}\n" for line in en_lines))
                hi_out.write("".join(f"{line} {copy}\n" for line in hi_lines))
    return en_path, hi_path, copies * block


def _build(kind: str, inputs: list[Path], langs: list[str], out: Path, num_proc: int) -> dict:
    argument = json.dumps([kind, [str(p) for p in inputs], langs, str(out), num_proc])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, argument], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark build failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(case: str, result: dict, num_proc: int) -> dict:
    return {
        "benchmark": "corpora",
        "case": case,
        "num_proc": num_proc,
        "rows_in": result["rows_in"],
        "rows_out": result["rows_out"],
        "seconds": round(result["seconds"], 2),
        "rows_per_s": round(result["rows_in"] / result["seconds"], 1),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "peak_anon_mb": round(result["peak_anon_mb"], 1),
        "workers_peak_rss_mb": round(result["workers_peak_rss_mb"], 1),
    }


def run() -> list[dict]:
    """Rows of build throughput and memory (see the module docstring)."""
    shared = _shared()
    lines = int(os.environ.get("EMBEDKIT_BENCH_LINES", "1000000"))
    pairs = [
        (shared / "ntrex128/newstest2019-src.eng.txt", shared / "ntrex128/newstest2019-ref.hin.txt"),
        (shared / "tico19_test/en-hi/tico19-test.en", shared / "tico19_test/en-hi/tico19-test.hi"),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="embedkit-corpora-bench-") as tmp:
        folder = Path(tmp)
        en_path, hi_path, total = _repeat(pairs, lines, folder)
        for num_proc in (1, 2):
            result = _build(
                "parallel", [en_path, hi_path], ["en", "hi"], folder / f"parallel-{num_proc}", num_proc
            )
            rows.append(
                _row(f"parallel en-hi, NTREX+TICO x{total // 4097} ({total} lines)", result, num_proc)
            )
        hindi = folder / "news.hi.txt"
        source = text_lines(shared / "ntrex128/newstest2019-ref.hin.txt")
        hindi.write_text("\n".join(source[:2000]) + "\n", encoding="utf-8")
        for num_proc in (1, 2):
            result = _build("tagged", [hindi], ["hi"], folder / f"tagged-{num_proc}", num_proc)
            rows.append(_row("tagged hi, NTREX (hindiwsd CRF POS + NER)", result, num_proc))
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row, ensure_ascii=False))
