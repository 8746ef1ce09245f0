"""A corpus build reports through the caller's Progress and the `corpora` loggers, never the screen."""

from __future__ import annotations

import logging

from corpora import build_corpus, read_manifest
from embedkit.progress import RecordingProgress


def test_build_reports_progress_and_logs_its_summary(tmp_path, shared_data, capsys, caplog, monkeypatch):
    library = logging.getLogger("corpora")  # as a program that never ran the CLI sees it
    monkeypatch.setattr(library, "handlers", [])
    monkeypatch.setattr(library, "propagate", True)
    source = shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv"
    with open(source, encoding="utf-8") as handle:
        rows = [next(handle) for _ in range(30)]
    path = tmp_path / "sts-train-hi.tsv"
    path.write_text("".join(rows), encoding="utf-8")
    progress = RecordingProgress()
    with caplog.at_level(logging.INFO, logger="corpora"):
        out = build_corpus("sts", [str(path)], ["hi"], tmp_path / "out", progress=progress)
    manifest = read_manifest(out)
    starts = [event[1] for event in progress.events if event[0] == "start"]
    assert starts == ["reading stsb (sts)", "checking sts rows"]
    checked = sum(event[2] for event in progress.events if event[0] == "advance" and event[1] == starts[1])
    assert checked == manifest["rows_built"] == 30
    assert ("update", starts[0], 30, 30) in progress.events  # reading ends at the rows read
    summary = [r.getMessage() for r in caplog.records if r.name == "corpora.build"]
    assert summary == [
        f"sts: 30 rows in, 30 built, {manifest['rows_out']} out; dropped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(manifest["drops"].items())) or "none")
    ]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # a library call draws nothing


def test_datasets_progress_bars_are_restored(tmp_path, shared_data):
    from datasets.utils.tqdm import are_progress_bars_disabled, enable_progress_bars

    enable_progress_bars()
    lines = (shared_data / "tico19_test/en-hi/tico19-test.en").read_text(encoding="utf-8").split("\n")[:5]
    path = tmp_path / "notes.en.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    words = tmp_path / "words.tsv"
    words.write_text("".join(f"{w}\tNOUN\n" for w in lines[0].split()[:3]), encoding="utf-8")
    build_corpus("tagged", [str(path)], ["en"], tmp_path / "out", tagger="wordlist", wordlist=str(words))
    assert not are_progress_bars_disabled()
