"""Fuzzing every corpus format reader through the real `embedkit corpus build` code path.

For each format: (1) valid rows with awkward but legal text (U+2028, form feed, NEL, a lone \\r inside a
line, quotes, commas) build a corpus whose texts are exactly the input's; (2) the same rows with one row
made wrong stop the build with exit 2 naming the file and that row's line; (3) random bytes give exit 2
naming the file, or exit 0 with a corpus whose texts all come from the input. Never exit 1 (a traceback),
never a partial output folder.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from corpora import load_corpus, read_manifest
from embedkit.cli import main

# Bounded and reproducible (EMBEDKIT_FUZZ_EXAMPLES=200 EMBEDKIT_FUZZ_RANDOM=1 for a longer, fresh search);
# no shrinking (each example is a real build), so a failure shows as drawn.
EXAMPLES = int(os.environ.get("EMBEDKIT_FUZZ_EXAMPLES", "6"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("EMBEDKIT_FUZZ_RANDOM"),
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# Words that pass the parallel/lexicon cleaning (right script, similar lengths, never a copy), joined by
# separators that must stay inside one line.
ENGLISH = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=5)
SYLLABLES = ("क", "का", "कि", "घ", "र", "पा", "नी", "त", "ब", "म", "ल", "स", "दू", "ध")
HINDI = st.lists(st.sampled_from(SYLLABLES), min_size=2, max_size=4).map("".join)
SEPARATORS = st.sampled_from([" ", " ", "\u2028", "\x0c", "\u0085", "\r", "\u00a0"])


def phrase(words: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """1-3 words joined by separators (none at either end, so nothing is stripped as a line ending)."""

    @st.composite
    def build(draw) -> str:
        parts = draw(st.lists(words, min_size=1, max_size=3))
        text = parts[0]
        for part in parts[1:]:
            text += draw(SEPARATORS) + part
        return text

    return build()


SENTENCE = phrase(ENGLISH) | phrase(st.sampled_from(['say "hi"', "a,b", "x'y", "ok"]))
SCORE = st.integers(min_value=0, max_value=50).map(lambda tenths: f"{tenths / 10:g}")


@dataclass
class Case:
    """Input files of one build, its command-line arguments, and what the corpus must hold."""

    kind: str
    files: dict[str, bytes]  # name -> content
    args: list[str]
    expected: Callable[[object], bool] | None = None  # dataset -> matches the input exactly
    line: tuple[str, int | None] | None = None  # (file, line) a wrong row must be reported at


@contextlib.contextmanager
def built(case: Case, fmt: str) -> Iterator[tuple[int, str, Path | None, Path]]:
    """Run `embedkit corpus build` in-process in a fresh folder (removed afterwards); yields (exit code,
    stderr, corpus folder or None, work folder)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        yield build(case, fmt, Path(work))


def build(case: Case, fmt: str, work: Path) -> tuple[int, str, Path | None, Path]:
    for name, content in case.files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(content)
    out = work / "out"
    args = [arg.replace("{work}", str(work)) for arg in case.args]
    inputs = [str(work / name) for name in case.files if not name.startswith("_")]
    if fmt == "cldr":
        inputs = [str(work / "annotations")]
    if fmt == "kural":
        inputs = [str(work / "libkural.py")]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):  # the CLI's rich console writes to the current sys.stderr
        code = main(["corpus", "build", case.kind, *inputs, "--format", fmt, "--out", str(out), "-q", *args])
    message = " ".join(err.getvalue().split())
    assert code in (0, 2), message  # 1 would be an unexpected exception
    leftovers = [p.name for p in work.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers  # no temp folders left behind
    if code == 0:
        assert (out / "manifest.json").is_file()
        return code, message, out, work
    assert not out.exists()  # nothing half-written
    assert "error:" in message and str(work) in message  # names the input file
    return code, message, None, work


def check_valid(case: Case, fmt: str) -> None:
    with built(case, fmt) as (code, message, out, _):
        assert code == 0, message
        data = load_corpus(out)
        manifest = read_manifest(out)
        assert manifest["rows_out"] == len(data) and manifest["drops"] == {}
        assert case.expected(data)


def check_wrong(case: Case, fmt: str) -> None:
    with built(case, fmt) as (code, message, _, work):
        assert code == 2
        name, line = case.line
        where = f"{work / name}:{line}:" if line is not None else f"{work / name}"
        assert where in message, (where, message)


LITERAL = {"stsb", "tsv", "aligned", "muse", "text"}  # formats whose texts are the input's bytes as they are


def check_random(case: Case, fmt: str, texts_of: Callable[[object], list[str]]) -> None:
    with built(case, fmt) as (code, _, out, _):
        if code == 0:
            data = load_corpus(out)
            manifest = read_manifest(out)
            assert manifest["rows_out"] == len(data) > 0
            if fmt in LITERAL:  # a strict build succeeded, so the input is valid UTF-8
                raw = b"\n".join(case.files.values()).decode("utf-8")
                assert all(text in raw for text in texts_of(data))


def lines(rows: list[str], ending: str = "\n") -> bytes:
    return "".join(row + ending for row in rows).encode("utf-8")


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # \r\n endings: a \r inside a field is quoted
    return buffer.getvalue().encode("utf-8")


WRONG_BYTES = st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3"])  # NUL, invalid UTF-8, a cut UTF-8 sequence


def inject(row: str, bad: bytes) -> bytes:
    encoded = row.encode("utf-8")
    return encoded[: len(encoded) // 2] + bad + encoded[len(encoded) // 2 :]


def with_row(content: bytes, index: int, replacement: bytes) -> bytes:
    rows = content.split(b"\n")
    rows[index] = replacement
    return b"\n".join(rows)


# ---------------------------------------------------------------- one-language rows: sts, nli, tagged

STS_ROWS = st.lists(st.tuples(SENTENCE, SENTENCE, SCORE), min_size=1, max_size=6, unique=True)


def sts_expected(rows: list[tuple[str, str, str]]) -> Callable[[object], bool]:
    want = sorted((a, b, round(float(s) / 5, 5)) for a, b, s in rows)
    return lambda data: (
        sorted(zip(data["sentence1"], data["sentence2"], (round(s, 5) for s in data["score"]), strict=True))
        == want
    )


def stsb_case(rows) -> Case:
    table = [f"main-news\tfile\t2012\t{i}\t{s}\t{a}\t{b}" for i, (a, b, s) in enumerate(rows)]
    return Case("sts", {"sts-hi.tsv": lines(table)}, ["--lang", "hi"], sts_expected(rows))


def tsv_case(rows) -> Case:
    table = ["sentence1\tsentence2\tscore"] + [f"{a}\t{b}\t{s}" for a, b, s in rows]
    return Case("sts", {"pairs.tsv": lines(table)}, ["--lang", "hi", "--scale", "0,5"], sts_expected(rows))


def csv_case(rows) -> Case:
    table = [["sentence1", "sentence2", "score"], *[[a, b, s] for a, b, s in rows]]
    return Case(
        "sts", {"pairs.csv": csv_bytes(table)}, ["--lang", "hi", "--scale", "0,5"], sts_expected(rows)
    )


def nli_case(premises: list[str]) -> Case:
    rows = []
    for i, premise in enumerate(premises):
        rows.append({"premise": premise, "hypothesis": f"yes {i}", "label": "entailment"})
        rows.append({"premise": premise, "hypothesis": f"no {i}", "label": "contradiction"})
    want = sorted((p, f"yes {i}", f"no {i}") for i, p in enumerate(premises))
    content = lines([json.dumps(row, ensure_ascii=False) for row in rows])
    return Case(
        "nli",
        {"xnli.jsonl": content},
        ["--lang", "hi"],
        lambda data: sorted(zip(data["anchor"], data["positive"], data["negative"], strict=True)) == want,
    )


WORDLIST = "घर\tNOUN\n".encode()


def text_case(texts: list[str]) -> Case:
    texts = [f"घर {text}" for text in texts]  # every text holds a word-list noun, so none is dropped
    return Case(
        "tagged",
        {"notes.txt": lines(texts), "_words.tsv": WORDLIST},
        ["--lang", "mr", "--wordlist", "{work}/_words.tsv"],
        lambda data: list(data["text"]) == texts and all(spans for spans in data["spans"]),
    )


UNIQUE_SENTENCES = st.lists(SENTENCE, min_size=1, max_size=6, unique=True)


@given(rows=STS_ROWS)
@FUZZ
def test_stsb_valid(rows):
    check_valid(stsb_case(rows), "stsb")


@given(rows=STS_ROWS)
@FUZZ
def test_tsv_valid(rows):
    check_valid(tsv_case(rows), "tsv")


@given(rows=STS_ROWS)
@FUZZ
def test_csv_valid(rows):
    check_valid(csv_case(rows), "csv")


@given(premises=UNIQUE_SENTENCES)
@FUZZ
def test_jsonl_valid(premises):
    check_valid(nli_case(premises), "jsonl")


@given(texts=UNIQUE_SENTENCES)
@FUZZ
def test_text_valid(texts):
    check_valid(text_case(texts), "text")


@given(rows=STS_ROWS, data=st.data())
@FUZZ
def test_stsb_wrong_row(rows, data):
    case = stsb_case(rows)
    index = data.draw(st.integers(0, len(rows) - 1))
    row = case.files["sts-hi.tsv"].split(b"\n")[index].decode()
    parts = row.split("\t")
    mutation = data.draw(st.sampled_from(["fields", "idx", "score", "range", "bytes"]))
    bad = {
        "fields": "\t".join(parts[:5]).encode(),
        "idx": "\t".join([*parts[:3], "x1", *parts[4:]]).encode(),
        "score": "\t".join([*parts[:4], "high", *parts[5:]]).encode(),
        "range": "\t".join([*parts[:4], "5.5", *parts[5:]]).encode(),
        "bytes": inject(row, data.draw(WRONG_BYTES)),
    }[mutation]
    case.files["sts-hi.tsv"] = with_row(case.files["sts-hi.tsv"], index, bad)
    case.line = ("sts-hi.tsv", index + 1)
    check_wrong(case, "stsb")


@given(rows=STS_ROWS, data=st.data())
@FUZZ
def test_tsv_and_csv_wrong_row(rows, data):
    fmt = data.draw(st.sampled_from(["tsv", "csv"]))
    case = tsv_case(rows) if fmt == "tsv" else csv_case(rows)
    name = next(iter(case.files))
    mutation = data.draw(st.sampled_from(["header", "fields", "score", "bytes"]))
    index = 0 if mutation == "header" else data.draw(st.integers(1, len(rows)))
    delimiter = "\t" if fmt == "tsv" else ","
    row = case.files[name].split(b"\n")[index].decode().removesuffix("\r")
    a, b, s = rows[index - 1] if index else ("", "", "")
    quoted = a if fmt == "tsv" else csv_bytes([[a]]).decode().removesuffix("\r\n")
    bad = {
        "header": delimiter.join(["sentence1", "sentence2", "sentence2"]).encode(),
        "fields": (row + delimiter + "extra").encode(),
        "score": delimiter.join([quoted, "b", "high"]).encode(),
        "bytes": inject(row, data.draw(WRONG_BYTES)),
    }[mutation]
    case.files[name] = with_row(case.files[name], index, bad)
    # a cut CSV row shows up at the CSV row's first line
    case.line = (name, index + 1)
    check_wrong(case, fmt)


NOT_TEXT = st.sampled_from(['{"x": 1}', "[1, 2]", "5", "2.5", "true", "null", "NaN", '"a\\u0000b"'])


@given(premises=UNIQUE_SENTENCES, data=st.data())
@FUZZ
def test_jsonl_wrong_row(premises, data):
    case = nli_case(premises)
    content = case.files["xnli.jsonl"]
    index = data.draw(st.integers(0, 2 * len(premises) - 1))
    row = json.loads(content.split(b"\n")[index])
    mutation = data.draw(st.sampled_from(["type", "twice", "missing", "label", "array", "json", "bytes"]))
    field = data.draw(st.sampled_from(["premise", "hypothesis"]))
    if mutation == "type":
        row[field] = "@@"
        bad = json.dumps(row, ensure_ascii=False).replace('"@@"', data.draw(NOT_TEXT)).encode()
    elif mutation == "twice":
        bad = json.dumps(row, ensure_ascii=False).replace("{", '{"label": "neutral", ', 1).encode()
    elif mutation == "missing":
        del row[field]
        bad = json.dumps(row, ensure_ascii=False).encode()
    elif mutation == "label":
        row["label"] = data.draw(st.sampled_from(["contradicts", "", "Entailment", "2"]))
        bad = json.dumps(row, ensure_ascii=False).encode()
    elif mutation == "array":
        bad = json.dumps([row], ensure_ascii=False).encode()
    elif mutation == "json":
        bad = json.dumps(row, ensure_ascii=False)[:-1].encode()
    else:
        bad = inject(json.dumps(row, ensure_ascii=False), data.draw(WRONG_BYTES))
    case.files["xnli.jsonl"] = with_row(content, index, bad)
    case.line = ("xnli.jsonl", index + 1)
    check_wrong(case, "jsonl")


@given(texts=UNIQUE_SENTENCES, data=st.data())
@FUZZ
def test_text_wrong_line(texts, data):
    case = text_case(texts)
    index = data.draw(st.integers(0, len(texts) - 1))
    row = case.files["notes.txt"].split(b"\n")[index].decode()
    case.files["notes.txt"] = with_row(case.files["notes.txt"], index, inject(row, data.draw(WRONG_BYTES)))
    case.line = ("notes.txt", index + 1)
    check_wrong(case, "text")


# ---------------------------------------------------------------- multilingual rows: parallel, lexicon


@st.composite
def translation(draw) -> tuple[str, str]:
    """An English phrase and a 'Hindi' one with as many words of similar length, the same separators."""
    words = draw(st.lists(st.tuples(ENGLISH, HINDI), min_size=1, max_size=3))
    separators = [draw(SEPARATORS) for _ in words[1:]]
    english, hindi = words[0]
    for separator, (e, h) in zip(separators, words[1:], strict=True):
        english, hindi = english + separator + e, hindi + separator + h
    return english, hindi


PAIRS = st.lists(translation(), min_size=1, max_size=6)
WORD_PAIRS = st.lists(
    st.tuples(ENGLISH, HINDI), min_size=1, max_size=8, unique_by=(lambda p: p[0], lambda p: p[1])
)


def _unique_normalised(pairs):
    from corpora.languages import normalise

    return len({normalise(e) for e, _ in pairs}) == len(pairs) and len(
        {normalise(h) for _, h in pairs}
    ) == len(pairs)


def aligned_case(pairs) -> Case:
    want = [(e, h) for e, h in pairs]
    return Case(
        "parallel",
        {"news.en": lines([e for e, _ in pairs]), "news.hi": lines([h for _, h in pairs])},
        ["--lang", "en,hi"],
        lambda data: list(zip(data["source"], data["target"], strict=True)) == want,
    )


def muse_case(pairs) -> Case:
    return Case(
        "lexicon",
        {"en-hi.dict": lines([f"{e} {h}" for e, h in pairs])},
        ["--lang", "en,hi"],
        lambda data: list(zip(data["word1"], data["word2"], strict=True)) == list(pairs),
    )


def babelnet_case(pairs, glosses) -> Case:
    header = ["synsetID", "lang1", "lang2", "word1", "word2", "sent1", "sent2"]
    rows = [
        [f"bn:{i:08d}n", "EN", "HI", e, h, g, g]
        for i, ((e, h), g) in enumerate(zip(pairs, glosses, strict=True))
    ]
    want = [(e, h, g) for (e, h), g in zip(pairs, glosses, strict=True)]
    return Case(
        "lexicon",
        {"babel.csv": csv_bytes([header, *rows])},
        ["--lang", "en,hi"],
        lambda data: list(zip(data["word1"], data["word2"], data["gloss1"], strict=True)) == want,
    )


def cldr_xml(names: dict[str, str]) -> bytes:
    body = "".join(
        f'\n<annotation cp={quoteattr(cp)} type="tts">{escape(name)}</annotation>'
        for cp, name in names.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ldml><annotations>{body}\n</annotations></ldml>\n'.encode()
    )


def cldr_case(pairs) -> Case:
    emoji = [chr(0x1F600 + i) for i in range(len(pairs))]
    return Case(
        "lexicon",
        {
            "annotations/en.xml": cldr_xml({cp: e for cp, (e, _) in zip(emoji, pairs, strict=True)}),
            "annotations/hi.xml": cldr_xml({cp: h for cp, (_, h) in zip(emoji, pairs, strict=True)}),
        },
        ["--lang", "en,hi"],
        lambda data: list(zip(data["word1"], data["word2"], strict=True)) == list(pairs),
    )


@given(pairs=PAIRS.filter(_unique_normalised))
@FUZZ
def test_aligned_valid(pairs):
    check_valid(aligned_case(pairs), "aligned")


@given(pairs=WORD_PAIRS)
@FUZZ
def test_muse_valid(pairs):
    check_valid(muse_case(pairs), "muse")


@given(pairs=WORD_PAIRS, data=st.data())
@FUZZ
def test_babelnet_valid(pairs, data):
    glosses = [data.draw(SENTENCE) for _ in pairs]
    check_valid(babelnet_case(pairs, glosses), "babelnet")


@given(pairs=WORD_PAIRS)
@FUZZ
def test_cldr_valid(pairs):
    check_valid(cldr_case(pairs), "cldr")


@given(pairs=PAIRS.filter(_unique_normalised), data=st.data())
@FUZZ
def test_aligned_wrong_line(pairs, data):
    case = aligned_case(pairs)
    name = data.draw(st.sampled_from(["news.en", "news.hi"]))
    if data.draw(st.booleans()):  # one file a line longer
        case.files[name] += b"extra\n"
        case.line = (name, len(pairs) + 1)
    else:
        index = data.draw(st.integers(0, len(pairs) - 1))
        row = case.files[name].split(b"\n")[index].decode()
        case.files[name] = with_row(case.files[name], index, inject(row, data.draw(WRONG_BYTES)))
        case.line = (name, index + 1)
    check_wrong(case, "aligned")


@given(pairs=WORD_PAIRS, data=st.data())
@FUZZ
def test_muse_wrong_line(pairs, data):
    case = muse_case(pairs)
    index = data.draw(st.integers(0, len(pairs) - 1))
    e, h = pairs[index]
    bad = data.draw(
        st.sampled_from(
            [e.encode(), f"{e} {h} {h}".encode(), f"{h} @ {e}".encode(), inject(f"{e} {h}", b"\x00")]
        )
    )
    if index == 0 and b" @ " in bad:
        bad = f"{e}".encode()  # a first line sets the layout: make it wrong in any layout
    case.files["en-hi.dict"] = with_row(case.files["en-hi.dict"], index, bad)
    case.line = ("en-hi.dict", index + 1)
    check_wrong(case, "muse")


@given(pairs=WORD_PAIRS, data=st.data())
@FUZZ
def test_babelnet_wrong_row(pairs, data):
    case = babelnet_case(pairs, ["gloss"] * len(pairs))
    mutation = data.draw(st.sampled_from(["header", "fields", "lang", "bytes"]))
    index = 0 if mutation == "header" else data.draw(st.integers(1, len(pairs)))
    row = case.files["babel.csv"].split(b"\n")[index].decode().removesuffix("\r")
    bad = {
        "header": b"synsetID,lang1,lang2,word1,word2,sent1,sent1",
        "fields": (row + ",extra").encode(),
        "lang": row.replace(",HI,", ",QQQQ,", 1).encode(),
        "bytes": inject(row, data.draw(WRONG_BYTES)),
    }[mutation]
    case.files["babel.csv"] = with_row(case.files["babel.csv"], index, bad)
    case.line = ("babel.csv", index + 1)
    check_wrong(case, "babelnet")


@given(pairs=WORD_PAIRS, data=st.data())
@FUZZ
def test_cldr_malformed_xml(pairs, data):
    case = cldr_case(pairs)
    name = data.draw(st.sampled_from(["annotations/en.xml", "annotations/hi.xml"]))
    content = case.files[name].split(b"\n")
    index = data.draw(st.integers(2, len(content) - 3))  # an <annotation> line
    # a wrong closing tag or a NUL is reported on its own line (a missing one only at the parent's end)
    content[index] = content[index].replace(b"</annotation>", data.draw(st.sampled_from([b"</x>", b"\x00"])))
    case.files[name] = b"\n".join(content)
    case.line = (name, index + 1)
    check_wrong(case, "cldr")


# ---------------------------------------------------------------- the Thirukkural module

LIBKURAL = Path(importlib.util.find_spec("libkural").origin) if importlib.util.find_spec("libkural") else None


needs_libkural = pytest.mark.skipif(LIBKURAL is None, reason="the libkural registry package is not installed")


@needs_libkural
def test_kural_valid():
    from corpora.heldout import kural_is_test
    from corpora.readers import read_kurals

    kurals = [k for k in read_kurals(LIBKURAL) if not kural_is_test(k)]
    case = Case(
        "parallel",
        {"libkural.py": LIBKURAL.read_bytes()},
        ["--lang", "ta,en", "--max-ratio", "100", "--min-script-share", "0"],
    )
    with built(case, "kural") as (code, message, out, _):
        assert code == 0, message
        data = load_corpus(out)
        manifest = read_manifest(out)
        pairs = list(zip(data["source"], data["target"], strict=True))
        assert manifest["rows_in"] == len(kurals) == 1070
        assert len(pairs) == len(kurals) - sum(manifest["drops"].values())
        assert set(pairs) <= {(k.tamil, k.english) for k in kurals}


@needs_libkural
@given(cut=st.integers(min_value=1, max_value=10_000), bad=WRONG_BYTES)
@FUZZ
def test_kural_damaged_module(cut, bad):
    source = LIBKURAL.read_bytes()
    position = len(source) * cut // 10_001
    case = Case("parallel", {"libkural.py": source[:position] + bad + source[position:]}, ["--lang", "ta,en"])
    with built(case, "kural") as (code, message, _, work):
        assert code == 2 and f"{work / 'libkural.py'}" in message


# ---------------------------------------------------------------- random bytes into every reader

RANDOM = st.binary(max_size=300) | st.lists(
    st.sampled_from(
        [b"\n", b"\t", b",", b'"', b"\r", b"a", b"\xe0\xa4\x95", b"{", b"}", b" @ ", b"\x00", b"5"]
    ),
    max_size=60,
).map(b"".join)

RANDOM_CASES = {
    "stsb": ("sts", "sts-hi.tsv", ["--lang", "hi"], ["sentence1", "sentence2"]),
    "tsv": ("sts", "pairs.tsv", ["--lang", "hi", "--scale", "0,5"], ["sentence1", "sentence2"]),
    "csv": ("sts", "pairs.csv", ["--lang", "hi", "--scale", "0,5"], ["sentence1", "sentence2"]),
    "jsonl": ("nli", "xnli.jsonl", ["--lang", "hi"], ["anchor", "positive", "negative"]),
    "aligned": ("parallel", "news.en", ["--lang", "en,hi"], ["source", "target"]),
    "muse": ("lexicon", "en-hi.dict", ["--lang", "en,hi"], ["word1", "word2"]),
    "babelnet": ("lexicon", "babel.csv", ["--lang", "en,hi"], ["word1", "word2"]),
    "cldr": ("lexicon", "annotations/en.xml", ["--lang", "en,hi"], ["word1", "word2"]),
}


@given(fmt=st.sampled_from(sorted(RANDOM_CASES)), content=RANDOM, other=RANDOM)
@settings(FUZZ, max_examples=4 * EXAMPLES)
def test_random_bytes_never_crash(fmt, content, other):
    kind, name, args, columns = RANDOM_CASES[fmt]
    files = {name: content}
    if fmt == "aligned":
        files["news.hi"] = other
    if fmt == "cldr":
        files["annotations/hi.xml"] = other
    check_random(
        Case(kind, files, args), fmt, lambda data: [text for column in columns for text in data[column]]
    )


@given(content=RANDOM)
@settings(FUZZ, max_examples=EXAMPLES)
def test_random_bytes_into_the_text_reader(content):
    check_random(
        Case(
            "tagged",
            {"notes.txt": content, "_words.tsv": WORDLIST},
            ["--lang", "mr", "--wordlist", "{work}/_words.tsv"],
        ),
        "text",
        lambda data: list(data["text"]),
    )
