"""The shared readers (corpora.readers): what a line is, and strict mode's rules on ambiguous input, through
the builds that use them (exit 2 with file:line; --skip-invalid drops and records the row)."""

from __future__ import annotations

import json

import pytest

from corpora import build_corpus, load_corpus, read_manifest
from corpora.readers import read_lines, text_lines
from embedkit.cli import main
from embedkit.errors import InputError


def test_only_newline_ends_a_line(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes(
        b"\xef\xbb\xbfone\xe2\x80\xa8still one\n"  # BOM dropped; U+2028 inside a line
        b"\x0cform feed\n"
        b"nel \xc2\x85 inside\r\n"  # one trailing \r is stripped
        b"\n"  # an empty line is a line
        b"lone \r inside\n"
        b"two endings\r\r\n"  # only one \r is stripped
        b"last, no newline"
    )
    assert text_lines(path) == [
        "one\u2028still one",
        "\x0cform feed",
        "nel \x85 inside",
        "",
        "lone \r inside",
        "two endings\r",
        "last, no newline",
    ]
    assert [number for number, _ in read_lines(path)] == list(range(1, 8))
    assert text_lines(path) != path.read_text(encoding="utf-8-sig").splitlines()  # what the kit never does


def test_nul_and_invalid_utf8_are_placed(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nnul\x00here\n")
    with pytest.raises(InputError, match=r"bad.txt:2: NUL byte at character 4"):
        text_lines(path)
    path.write_bytes(b"fine\nfine\n\xe0\xa4\n")
    with pytest.raises(InputError, match=r"bad.txt:3: invalid UTF-8 at byte 1"):
        text_lines(path)


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, " ".join(capsys.readouterr().err.split())


@pytest.fixture
def stsb_rows(shared_data) -> list[str]:
    with open(shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv", encoding="utf-8") as handle:
        return [next(handle).rstrip("\n").split("\t") for _ in range(6)]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_a_header_naming_a_column_twice_stops_the_build(tmp_path, stsb_rows, capsys, fmt):
    sep = "\t" if fmt == "tsv" else ","
    rows = [sep.join(["sentence1", "sentence2", "score", "score"])]
    rows += [sep.join([r[5].replace(",", " "), r[6].replace(",", " "), r[4], "0"]) for r in stsb_rows]
    path = tmp_path / f"pairs.{fmt}"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    for extra in ([], ["--skip-invalid"]):  # the header is not a row: no skipping it
        argv = [
            "corpus",
            "build",
            "sts",
            str(path),
            "--lang",
            "hi",
            "--scale",
            "0,5",
            "--out",
            str(out),
            *extra,
        ]
        code, err = run(argv, capsys)
        assert code == 2 and f"{path}:1: the header names column 'score' twice" in err
        assert not out.exists()


NOT_TEXT = [
    ({"x": 1}, "is a JSON object ({'x': 1}), not a string"),
    ([1, 2], "is a list ([1, 2]), not a string"),
    (5, "is a number (5), not a string"),
    (2.5, "is a number (2.5), not a string"),
    (True, "is a boolean (True), not a string"),
    (None, "is a null, not a string"),
    ("a\x00b", "holds a NUL character at position 2"),
]


def _nli_rows(shared_data) -> list[dict]:
    """Real Hindi sentences (STSb translations) as NLI rows: entailment then contradiction per premise."""
    with open(shared_data / "stsb_translated_l3cube/hindi/sts-train-hi.tsv", encoding="utf-8") as handle:
        rows = [next(handle).rstrip("\n").split("\t") for _ in range(4)]
    return [
        {"premise": r[5], "hypothesis": r[6] if label == "entailment" else r[5][::-1], "label": label}
        for r in rows
        for label in ("entailment", "contradiction")
    ]


@pytest.mark.parametrize(("value", "problem"), NOT_TEXT)
def test_jsonl_fields_are_never_coerced_to_text(tmp_path, shared_data, capsys, value, problem):
    rows = _nli_rows(shared_data)
    rows[3]["hypothesis"] = value
    path = tmp_path / "xnli.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code, err = run(["corpus", "build", "nli", str(path), "--lang", "hi", "--out", str(out)], capsys)
    assert code == 2 and f"{path}:4: field 'hypothesis' {problem}" in err
    assert not out.exists()
    built = build_corpus("nli", [str(path)], ["hi"], out, skip_invalid=True)
    manifest = read_manifest(built)
    assert manifest["invalid_rows"] == [
        {"file": str(path), "line": 4, "reason": f"field 'hypothesis' {problem}"}
    ]
    assert manifest["rows_in"] == len(rows)  # the bad row is counted once
    texts = {text for column in ("anchor", "positive", "negative") for text in load_corpus(built)[column]}
    assert texts and str(value) not in texts


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"premise": "a", "hypothesis": NaN, "label": "entailment"}', "malformed JSON (NaN is not JSON)"),
        ('{"premise": "a", "premise": "b", "hypothesis": "c", "label": "entailment"}', "appears twice"),
    ],
)
def test_jsonl_nan_and_repeated_keys_are_malformed(tmp_path, shared_data, line, problem):
    rows = [json.dumps(row, ensure_ascii=False) for row in _nli_rows(shared_data)]
    rows[2] = line
    path = tmp_path / "xnli.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        build_corpus("nli", [str(path)], ["hi"], tmp_path / "out")
    assert caught.value.line == 3 and problem in caught.value.problem


def test_jsonl_score_must_be_a_number_not_a_boolean(tmp_path, stsb_rows):
    rows = [{"sentence1": r[5], "sentence2": r[6], "score": float(r[4])} for r in stsb_rows]
    rows[1]["score"] = True
    path = tmp_path / "sts.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sts.jsonl:2: field 'score' is a boolean \(True\), not a number"):
        build_corpus("sts", [str(path)], ["hi"], tmp_path / "out", scale="0,5")


def test_nul_byte_in_a_tsv_row(tmp_path, stsb_rows):
    lines = ["\t".join(r) for r in stsb_rows]
    lines[2] = lines[2].replace(" ", "\x00", 1)
    path = tmp_path / "sts-train-hi.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        build_corpus("sts", [str(path)], ["hi"], tmp_path / "out")
    assert caught.value.line == 3 and "NUL byte" in caught.value.problem
    built = build_corpus("sts", [str(path)], ["hi"], tmp_path / "out", skip_invalid=True)
    assert [row["line"] for row in read_manifest(built)["invalid_rows"]] == [3]
    assert not any("\x00" in text for text in load_corpus(built)["sentence1"])


def test_a_build_with_no_rows_left_names_the_inputs(tmp_path, shared_data, capsys):
    # every pair of these files is dropped: English on both sides is an untranslated copy
    eng = shared_data / "tico19_test/en-hi/tico19-test.en"
    first = tmp_path / "copy.en"
    second = tmp_path / "copy.hi"
    head = "\n".join(eng.read_text(encoding="utf-8").split("\n")[:5]) + "\n"
    first.write_text(head, encoding="utf-8")
    second.write_text(head, encoding="utf-8")
    out = tmp_path / "out"
    code, err = run(
        ["corpus", "build", "parallel", str(first), str(second), "--lang", "en,hi", "--out", str(out)], capsys
    )
    assert code == 2
    assert (
        f"no rows left to write from {first}, {second}" in err and "untranslated" in err and "--lang" in err
    )
    assert not out.exists()
    assert "Traceback" not in err and "corresponds to no data" not in err


def test_every_row_dropped_before_the_arrow_file_exists(tmp_path, capsys):
    # rows in a language not asked for never reach datasets (its "corresponds to no data" ValueError)
    path = tmp_path / "xnli.jsonl"
    row = {"premise": "एक आदमी", "hypothesis": "आदमी", "label": "entailment", "lang": "mr"}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    code, err = run(
        ["corpus", "build", "nli", str(path), "--lang", "hi", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2 and f"no rows left to write from {path}" in err and "language_not_requested 1" in err


def test_a_line_too_long_for_the_tagger_is_placed_before_spacy_sees_it(tmp_path, shared_data, capsys):
    marathi = (shared_data / "ntrex128/newstest2019-ref.mar.txt").read_text(encoding="utf-8").split("\n")[:3]
    marathi.insert(1, " ".join(marathi) * (1_000_000 // len(" ".join(marathi)) + 1))
    path = tmp_path / "news.mr.txt"
    path.write_text("\n".join(marathi) + "\n", encoding="utf-8")
    words = tmp_path / "words.tsv"
    words.write_text("".join(f"{word}\tNOUN\n" for word in marathi[0].split()[:3]), encoding="utf-8")
    out = tmp_path / "out"
    argv = [
        "corpus",
        "build",
        "tagged",
        str(path),
        "--lang",
        "mr",
        "--wordlist",
        str(words),
        "--out",
        str(out),
    ]
    code, err = run(argv, capsys)
    assert code == 2 and f"{path}:2: the text is" in err and "more than the tagger takes (1,000,000)" in err
    assert "E088" not in err and not out.exists()


def test_eval_readers_share_the_line_rule(tmp_path):
    from corpora.readers import read_aligned

    first, second = tmp_path / "a.en", tmp_path / "a.hi"
    first.write_bytes(b"one\xe2\x80\xa8half\r\ntwo\n")
    second.write_bytes("एक\nदो".encode())
    assert read_aligned(first, second) == (["one\u2028half", "two"], ["एक", "दो"])


def test_mteb_tasks_import_the_split_rules_from_corpora():
    import corpora.heldout
    import mteb_tasks.tasks.bitext_mining as bitext
    import mteb_tasks.tasks.bli as bli

    assert bitext.kural_is_test is corpora.heldout.kural_is_test
    assert bli.MuseBLI.test_split is corpora.heldout.MUSE_SPLITS["test"]
    assert bli.OpenTamilBLI.test_split is corpora.heldout.OPEN_TAMIL_TEST


def test_the_corpus_layer_imports_no_eval_or_training_code():
    import subprocess
    import sys

    code = (
        "import sys, corpora, corpora.build, corpora.formats, corpora.kinds, corpora.readers; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mteb_tasks', 'trainers', 'mteb')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_out_in_an_impossible_place_is_refused_before_reading(tmp_path, stsb_rows, capsys):
    path = tmp_path / "sts-train-hi.tsv"
    path.write_text("\n".join("\t".join(r) for r in stsb_rows) + "\n", encoding="utf-8")
    for out, problem in ((path / "corpus", "is a file, not a folder"), (path, "is an existing file")):
        code, err = run(["corpus", "build", "sts", str(path), "--lang", "hi", "--out", str(out)], capsys)
        assert code == 2 and f"--out {out}" in err and problem in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sts-train-hi.tsv"]
