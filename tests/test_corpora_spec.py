"""Corpora declared as YAML-able specs (cached by spec + input sha256) and the CLI entry point."""

from __future__ import annotations

import json

import pytest
import yaml

import corpora.spec
from corpora import build_from_spec, load_corpus, read_manifest
from embedkit.cli import main
from embedkit.errors import UserError

SPEC = """
kind: parallel
inputs:
  - ${shared}/tico19_test/en-hi/tico19-test.en
  - ${shared}/tico19_test/en-hi/tico19-test.hi
lang: en,hi
max_ratio: 2.5
"""


def test_spec_builds_once_and_is_reused(tmp_path, shared_data, monkeypatch):
    spec = yaml.safe_load(SPEC)
    out = build_from_spec(spec, tmp_path / "cache")
    assert out.parent == tmp_path / "cache" and out.name.startswith("parallel-")
    manifest = read_manifest(out)
    assert manifest["spec"] == spec and manifest["options"] == {"max_ratio": 2.5}
    assert [entry["path"] for entry in manifest["inputs"]] == [
        str(shared_data / "tico19_test/en-hi/tico19-test.en"),
        str(shared_data / "tico19_test/en-hi/tico19-test.hi"),
    ]
    assert 2000 < len(load_corpus(out)) <= 2100

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached corpus should have been reused")

    monkeypatch.setattr(corpora.spec, "run_plan", no_rebuild)
    assert build_from_spec(dict(spec), tmp_path / "cache") == out
    with pytest.raises(AssertionError, match="reused"):  # another option is another corpus
        build_from_spec({**spec, "max_ratio": 2.0}, tmp_path / "cache")


def test_spec_errors_are_usage_errors(tmp_path):
    with pytest.raises(UserError, match="lacks inputs"):
        build_from_spec({"kind": "sts", "lang": "hi"}, tmp_path)
    with pytest.raises(UserError, match="unknown option"):
        spec = {"kind": "sts", "lang": "hi", "inputs": "${shared}/stsb_english/sts-train.csv", "typo": 1}
        build_from_spec(spec, tmp_path)


def test_cli_build_prints_the_folder_and_show_reads_the_manifest(tmp_path, shared_data, capsys):
    muse = shared_data / "muse_dictionaries/hi-en.dict"
    out = tmp_path / "lex"
    argv = [
        "corpus",
        "build",
        "lexicon",
        str(muse),
        "--lang",
        "hi,en",
        "--muse-split",
        "test",
        "--out",
        str(out),
    ]
    assert main([*argv, "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert main(["corpus", "show", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["kind"] == "lexicon" and shown["rows_out"] == len(load_corpus(out))
    assert (
        shown["command"] == f"embedkit corpus build lexicon {muse} --lang hi,en --out {out} --muse-split test"
    )
    assert read_manifest(out)["options"] == {"muse_split": "test"}
    assert len(set(load_corpus(out)["word1"])) > 1000
