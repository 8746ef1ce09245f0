"""Bad input: strict builds stop at the malformed row (file:line, exit 2, nothing written);
--skip-invalid drops it and lists it in the manifest. Fixtures are real rows with one row broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpora import build_corpus, read_manifest
from embedkit.cli import main
from embedkit.errors import InputError, UserError


def lines_of(path: Path, count: int) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [next(handle).rstrip("\n") for _ in range(count)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def stsb_rows(shared_data) -> list[str]:
    return lines_of(shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv", 20)


def broken_stsb(tmp_path: Path, rows: list[str], line: int, fields: list[str] | None = None, cut: int = 0):
    rows = list(rows)
    parts = rows[line - 1].split("\t")
    if fields is not None:
        parts = fields
    if cut:
        parts = parts[:-cut]
    rows[line - 1] = "\t".join(parts)
    return write(tmp_path / "sts-train-hi.tsv", rows)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_wrong_field_count_stops_with_file_and_line(tmp_path, stsb_rows, capsys):
    path = broken_stsb(tmp_path, stsb_rows, 7, cut=2)
    out = tmp_path / "out"
    code, err = run_cli(
        ["corpus", "build", "sts", str(path), "--lang", "hi", "--out", str(out), "-q"], capsys
    )
    assert code == 2
    assert f"{path}:7: expected 7 tab-separated fields" in " ".join(err.split())
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_skip_invalid_records_the_row_in_the_manifest(tmp_path, stsb_rows):
    path = broken_stsb(tmp_path, stsb_rows, 7, cut=2)
    out = build_corpus("sts", [str(path)], ["hi"], tmp_path / "out", skip_invalid=True)
    manifest = read_manifest(out)
    assert manifest["invalid_rows"] == [
        {
            "file": str(path),
            "line": 7,
            "reason": "expected 7 tab-separated fields (genre, file, year, idx, score, "
            "sentence1, sentence2), found 5",
        }  # fmt: skip
    ]
    assert manifest["drops"]["invalid"] == 1
    assert manifest["rows_in"] == 20
    assert manifest["rows_out"] == 20 - 1 - manifest["drops"].get("duplicate", 0)


@pytest.mark.parametrize(
    ("score", "problem"),
    [("high", "score 'high' is not a number"), ("5.5", "score 5.5 is outside the declared scale 0-5")],
)
def test_bad_score(tmp_path, stsb_rows, score, problem):
    parts = stsb_rows[4].split("\t")
    parts[4] = score
    path = broken_stsb(tmp_path, stsb_rows, 5, fields=parts)
    with pytest.raises(InputError) as caught:
        build_corpus("sts", [str(path)], ["hi"], tmp_path / "out")
    assert (caught.value.path, caught.value.line, caught.value.problem) == (str(path), 5, problem)
    assert not (tmp_path / "out").exists()


def test_unknown_nli_label(tmp_path):
    rows = [
        {"premise": "एक आदमी घोड़े पर सवार है।", "hypothesis": "एक आदमी जानवर पर है।", "label": "entailment"},
        {"premise": "एक आदमी घोड़े पर सवार है।", "hypothesis": "आदमी सो रहा है।", "label": "contradicts"},
    ]
    path = write(tmp_path / "xnli.jsonl", [json.dumps(row, ensure_ascii=False) for row in rows])
    with pytest.raises(InputError) as caught:
        build_corpus("nli", [str(path)], ["hi"], tmp_path / "out")
    assert caught.value.line == 2 and "unknown label 'contradicts'" in caught.value.problem
    assert "--label" in str(caught.value)


def test_invalid_utf8(tmp_path, shared_data, capsys):
    data = (shared_data / "ntrex128/newstest2019-ref.hin.txt").read_bytes().split(b"\n")[:10]
    prefix = data[3].decode("utf-8")[:4].encode("utf-8")
    data[3] = prefix + b"\xff\xfe" + data[3][len(prefix) :]
    hin = tmp_path / "news.hin.txt"
    hin.write_bytes(b"\n".join(data) + b"\n")
    eng = write(tmp_path / "news.eng.txt", lines_of(shared_data / "ntrex128/newstest2019-src.eng.txt", 10))
    out = tmp_path / "out"
    argv = ["corpus", "build", "parallel", str(eng), str(hin), "--lang", "en,hi", "--out", str(out), "-q"]
    code, err = run_cli(argv, capsys)
    assert code == 2 and f"{hin}:4: invalid UTF-8 at byte {len(prefix) + 1} of the line" in " ".join(
        err.split()
    )
    assert not out.exists()
    # skipped, the files stay aligned: line 4 is gone from both sides, line 5 still pairs with line 5
    built = build_corpus("parallel", [str(eng), str(hin)], ["en", "hi"], out, skip_invalid=True)
    from corpora import load_corpus

    pairs = dict(zip(load_corpus(built)["source"], load_corpus(built)["target"], strict=True))
    english = lines_of(eng, 10)
    assert english[3] not in pairs
    assert pairs[english[4]] == data[4].decode("utf-8")


def test_aligned_files_of_different_lengths(tmp_path, shared_data):
    eng = write(tmp_path / "tico.en", lines_of(shared_data / "tico19_test/en-hi/tico19-test.en", 12))
    hin = write(tmp_path / "tico.hi", lines_of(shared_data / "tico19_test/en-hi/tico19-test.hi", 11))
    with pytest.raises(InputError) as caught:
        build_corpus("parallel", [str(eng), str(hin)], ["en", "hi"], tmp_path / "out")
    assert (caught.value.path, caught.value.line) == (str(eng), 12)
    assert f"{hin} has no line 12" in caught.value.problem
    out = build_corpus("parallel", [str(eng), str(hin)], ["en", "hi"], tmp_path / "out", skip_invalid=True)
    assert read_manifest(out)["invalid_rows"][0]["line"] == 12


def test_empty_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty input"):
        build_corpus("tagged", [str(empty)], ["en"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_dictionary_line_without_separator(tmp_path, shared_data):
    lines = lines_of(shared_data / "muse_dictionaries/en-hi.dict", 30)
    lines[16] = lines[16].replace(" @ ", " ")
    path = write(tmp_path / "en-hi.dict", lines)
    with pytest.raises(InputError) as caught:
        build_corpus("lexicon", [str(path)], ["en", "hi"], tmp_path / "out")
    assert caught.value.line == 17 and "expected 'target @ source'" in caught.value.problem
    out = build_corpus("lexicon", [str(path)], ["en", "hi"], tmp_path / "out", skip_invalid=True)
    assert [row["line"] for row in read_manifest(out)["invalid_rows"]] == [17]


def test_malformed_json_and_csv_rows(tmp_path, shared_data):
    jsonl = write(tmp_path / "rows.jsonl", ['{"text": "Snow fell on the peaks."}', '{"text": "Rain'])
    with pytest.raises(InputError) as caught:
        build_corpus("tagged", [str(jsonl)], ["en"], tmp_path / "out")
    assert caught.value.line == 2 and "malformed JSON" in caught.value.problem
    rows = ["id,sentence1,sentence2,score", "1,A man sings.,A man is singing.,0.9", "2,A dog runs.,0.1"]
    csv_path = write(tmp_path / "pairs.csv", rows)
    with pytest.raises(InputError) as caught:
        build_corpus("sts", [str(csv_path)], ["en"], tmp_path / "out", scale="0,1")
    assert caught.value.line == 3 and "expected 4 fields" in caught.value.problem


def test_usage_errors_are_exit_2(tmp_path, stsb_rows, capsys):
    path = write(
        tmp_path / "pairs.tsv", ["sentence1\tsentence2\tscore", "A man sings.\tA man is singing.\t4"]
    )
    code, err = run_cli(
        ["corpus", "build", "sts", str(path), "--lang", "en", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2 and "--scale MIN,MAX" in err
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        build_corpus("sts", [str(path)], ["xx"], tmp_path / "o", scale="0,5")
    with pytest.raises(UserError, match="unknown option"):
        build_corpus("sts", [str(path)], ["en"], tmp_path / "o", scale="0,5", max_ratio=2)
    not_a_corpus = tmp_path / "mine"
    not_a_corpus.mkdir()
    (not_a_corpus / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a corpus folder"):
        build_corpus("sts", [str(path)], ["en"], not_a_corpus, scale="0,5")
    assert (not_a_corpus / "notes.txt").read_text() == "keep me"


def test_hub_offline_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as caught:
        build_corpus("nli", ["Divyanshu/indicxnli"], ["hi"], tmp_path / "out", hub_config="{lang}")
    message = str(caught.value)
    assert "Divyanshu/indicxnli[hi/train]" in message and "offline" in message
    assert not (tmp_path / "out").exists()
