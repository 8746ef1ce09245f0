"""Input formats: one small reader class per format, registered by name.

A reader turns its inputs into `Record`s at (file, line) and reports a malformed line through
`ctx.invalid(...)` (which stops a strict build). Readers of one-language rows (`stsb`, `tsv`, `csv`,
`jsonl`, `text`, `hub`) yield named fields plus `lang`; readers of multilingual rows (`aligned`, `muse`,
`babelnet`, `cldr`, `kural`) yield `id`, `source` and `entries` [(lang, text, gloss)]. The parsing of each
file layout lives in `corpora.readers` (shared with the eval tasks); what is a line, see there.
"""

from __future__ import annotations

import json
import re
import xml.parsers.expat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any, ClassVar

from corpora.heldout import MUSE_SPLITS, OPEN_TAMIL_TEST, bli_split, kural_is_test
from corpora.languages import lang_code, lang_in_name
from corpora.readers import (
    STSB_COLUMNS,
    check_header,
    csv_rows,
    describe_value,
    dictionary_pairs,
    line_count_mismatch,
    open_tamil_entries,
    read_kurals,
    read_lines,
    stsb_rows,
)
from corpora.records import BuildContext, Input, Record, user_error
from embedkit.errors import InputError, UserError

FORMATS: dict[str, type[Reader]] = {}


def register(cls: type[Reader]) -> type[Reader]:
    FORMATS[cls.name] = cls
    return cls


class Reader(ABC):
    name: ClassVar[str]
    multilingual: ClassVar[bool] = False
    option_defaults: ClassVar[dict[str, Any]] = {}
    builder_defaults: ClassVar[dict[str, Any]] = {}  # what the format declares for the kind (e.g. a scale)

    def __init__(self, inputs: list[Input], langs: list[str], **options: Any):
        self.langs = langs
        self.options = {**self.option_defaults, **options}
        self.inputs = self.resolve_langs(inputs, langs)

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        """True when `inp` is unmistakably in this format (used when --format is not given)."""
        return False

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        """Give each input a language: its LANG= prefix, else its file name ('sts-dev-mr.tsv'), else the
        --lang languages no other input claimed, in order (or the only --lang)."""
        named = [inp.lang or lang_in_name(Path(inp.path).name) for inp in inputs]
        unclaimed = [lang for lang in langs if lang not in named]
        missing = [i for i, lang in enumerate(named) if lang is None]
        if missing and len(langs) == 1:
            named = [lang or langs[0] for lang in named]
        elif missing and len(missing) == len(unclaimed):
            for i, lang in zip(missing, unclaimed, strict=False):
                named[i] = lang
        elif missing:
            raise user_error(
                f"cannot tell the language of {inputs[missing[0]].path}",
                "write it as LANG=PATH, or give one --lang per input in the same order",
            )
        for inp, lang in zip(inputs, named, strict=False):
            if lang not in langs:
                raise user_error(
                    f"{inp.path} is in language {lang!r} (from {'LANG=' if inp.lang else 'its file name'}), "
                    f"which is not in --lang {','.join(langs)}",
                    "add it to --lang, or write the input as LANG=PATH",
                )
        return [Input(inp.path, lang) for inp, lang in zip(inputs, named, strict=False)]

    @abstractmethod
    def records(self, ctx: BuildContext) -> Iterator[Record]: ...

    def files(self) -> list[Path]:
        """The local files this reader reads (their sha256 goes into the manifest)."""
        return [inp.file for inp in self.inputs]


def _check_not_empty(count: int, path: Path, ctx: BuildContext) -> None:
    if count == 0:
        ctx.invalid(path, None, "empty input: no rows", "check the path and the --format")


def _with_lang(fields: dict, inp: Input, path: str | Path, line: int, ctx: BuildContext) -> bool:
    """Set a row's `lang`: its own `lang` field when it has one, else the input's language. False (the
    reader skips the row) when `lang` is not a known language code: an invalid row."""
    value = fields.get("lang")
    if value is None or value == "":
        fields["lang"] = inp.lang
        return True
    if not isinstance(value, str):
        ctx.invalid(path, line, f"field 'lang' is {describe_value(value)}, not a language code")
        return False
    try:
        fields["lang"] = lang_code(value)
    except UserError as exc:
        ctx.invalid(path, line, f"unknown language {value!r} in column 'lang'", exc.args[0])
        return False
    return True


# ---------------------------------------------------------------- one-language rows


@register
class StsbReader(Reader):
    """The STS-benchmark TSV: genre, file, year, idx, score, sentence1, sentence2 (no header; extra
    trailing columns ignored). `idx` is read as an integer, so '0001' and '1' are the same key."""

    name = "stsb"
    builder_defaults = {"scale": (0.0, 5.0)}
    columns = STSB_COLUMNS

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        if inp.file.suffix not in (".tsv", ".csv") or not inp.file.is_file():
            return False
        with open(inp.file, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n").split("\t")
        return len(first) >= 7 and _is_number(first[4]) and first[3].strip().isdigit()

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for inp in self.inputs:
            count = 0
            for number, fields in stsb_rows(inp.file, ctx.invalid):
                fields["lang"] = inp.lang
                count += 1
                yield Record(inp.path, number, fields)
            _check_not_empty(count, inp.file, ctx)


class _HeaderReader(Reader):
    """A delimited file whose first line names the columns."""

    delimiter: ClassVar[str]

    def rows(self, inp: Input, ctx: BuildContext) -> Iterator[tuple[int, list[str]]]:
        for number, text in read_lines(inp.file, ctx.invalid):
            if text is not None and text.strip():
                yield number, text.split(self.delimiter)

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for inp in self.inputs:
            header, count = None, 0
            for number, values in self.rows(inp, ctx):
                if header is None:
                    header = [value.strip() for value in values]
                    check_header(inp.file, number, header)
                    continue
                if len(values) != len(header):
                    ctx.invalid(
                        inp.file,
                        number,
                        f"expected {len(header)} fields ({', '.join(header)}), found {len(values)}",
                    )
                    continue
                fields = dict(zip(header, values, strict=False))
                if _with_lang(fields, inp, inp.file, number, ctx):
                    count += 1
                    yield Record(inp.path, number, fields)
            _check_not_empty(count, inp.file, ctx)


@register
class TsvReader(_HeaderReader):
    """Tab-separated with a header line; no quoting (sentences may hold raw quotes)."""

    name = "tsv"
    delimiter = "\t"

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return inp.file.suffix == ".tsv"


@register
class CsvReader(_HeaderReader):
    """Comma-separated with a header line, RFC 4180 quoting (a UTF-8 BOM is dropped)."""

    name = "csv"
    delimiter = ","

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return inp.file.suffix == ".csv"

    def rows(self, inp: Input, ctx: BuildContext) -> Iterator[tuple[int, list[str]]]:
        return csv_rows(inp.file, ctx.invalid)


@register
class JsonlReader(Reader):
    """One JSON object per line."""

    name = "jsonl"

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return inp.file.suffix == ".jsonl"

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for inp in self.inputs:
            count = 0
            for number, text in read_lines(inp.file, ctx.invalid):
                if text is None or not text.strip():
                    continue
                try:
                    fields = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
                except json.JSONDecodeError as exc:
                    ctx.invalid(inp.file, number, f"malformed JSON ({exc.msg} at column {exc.colno})")
                    continue
                except (RecursionError, ValueError) as exc:
                    ctx.invalid(inp.file, number, f"malformed JSON ({exc or type(exc).__name__})")
                    continue
                if not isinstance(fields, dict):
                    ctx.invalid(inp.file, number, f"expected a JSON object, found {type(fields).__name__}")
                    continue
                if _with_lang(fields, inp, inp.file, number, ctx):
                    count += 1
                    yield Record(inp.path, number, fields)
            _check_not_empty(count, inp.file, ctx)


@register
class TextReader(Reader):
    """Plain text, one text per line (field `text`)."""

    name = "text"

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for inp in self.inputs:
            count = 0
            for number, text in read_lines(inp.file, ctx.invalid):
                if text is None:
                    continue
                count += 1
                yield Record(inp.path, number, {"text": text, "lang": inp.lang})
            _check_not_empty(count, inp.file, ctx)


@register
class HubReader(Reader):
    """A Hugging Face Hub dataset by id, loaded with `datasets.load_dataset` (cached copies work offline).

    Options: `hub_config` (a config name; `{lang}` in it loads one config per --lang, as IndicXNLI's
    per-language configs), `split` (default train). ClassLabel columns are read as their label names.
    """

    name = "hub"
    option_defaults = {"hub_config": None, "split": "train"}

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return not Path(inp.path).exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", inp.path) is not None

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        return inputs

    def files(self) -> list[Path]:
        return []

    def configs(self, inp: Input) -> list[tuple[str | None, str | None]]:
        config = self.options["hub_config"]
        if config and "{lang}" in config:
            return [(lang, config.format(lang=lang)) for lang in self.langs]
        lang = inp.lang or (self.langs[0] if len(self.langs) == 1 else None)
        return [(lang, config)]

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        import datasets

        split = self.options["split"]
        for inp in self.inputs:
            for lang, config in self.configs(inp):
                where = f"{inp.path}[{config or 'default'}/{split}]"
                try:
                    data = datasets.load_dataset(inp.path, name=config, split=split)
                except Exception as exc:
                    offline = datasets.config.HF_HUB_OFFLINE
                    raise user_error(
                        f"cannot load Hub dataset {where}: {type(exc).__name__}: {exc}",
                        "the Hub is offline (HF_HUB_OFFLINE=1): unset it to download, or pass local files"
                        if offline
                        else "check the dataset id, --hub-config and --split",
                    ) from None
                labels = {
                    name: feature.names
                    for name, feature in data.features.items()
                    if isinstance(feature, datasets.ClassLabel)
                }
                count = 0
                for number, row in enumerate(data, 1):
                    fields = dict(row)
                    for name, names in labels.items():
                        value = fields[name]
                        fields[name] = names[value] if 0 <= value < len(names) else str(value)
                    if "lang" not in row:
                        fields["lang"] = lang
                    elif not _with_lang(fields, inp, where, number, ctx):
                        continue
                    count += 1
                    yield Record(where, number, fields)
                _check_not_empty(count, Path(where), ctx)


# ---------------------------------------------------------------- multilingual rows


def _without_lang(name: str) -> str:
    """The file name without its last language code: 'tatoeba.ben-eng.ben' -> 'tatoeba.ben-eng'."""
    parts = re.split(r"([._-])", name)
    for i in range(len(parts) - 1, -1, -1):
        if lang_in_name(parts[i]) is not None and parts[i] not in "._-":
            return "".join(parts[: max(i - 1, 0)] + parts[i + 1 :])
    return name


@register
class AlignedReader(Reader):
    """Two or more line-aligned plain-text files (Tatoeba, FLORES, NTREX, TICO, the si/ta/en lexicons).

    Each file's language comes from LANG=PATH or its name (`.hi`, `-mr`, `.hin.txt`). Files in the same
    folder whose names differ only in that language code form one aligned group (`en-hi/x.en` with
    `en-hi/x.hi`); in a folder where some file matches no other, all the inputs of that folder form one
    group (NTREX's `newstest2019-src.eng.txt` with the `newstest2019-ref.<lang>.txt` files). Files of a
    group must have the same number of lines. A line's `id` is its group and its text in the earliest
    --lang language, so the lines of a dictionary that translate the same word form one synset.
    """

    name = "aligned"
    multilingual = True

    def groups(self) -> list[tuple[str, list[Input]]]:
        """(name, files) of each aligned group, in input order."""
        keyed: dict[tuple[str, str], list[Input]] = {}
        for inp in self.inputs:
            keyed.setdefault((str(inp.file.parent), _without_lang(inp.file.name)), []).append(inp)
        lonely = {folder for (folder, _), members in keyed.items() if len(members) == 1}
        groups: dict[str, list[Input]] = {}
        for (folder, name), members in keyed.items():
            key = Path(folder).name if folder in lonely else f"{Path(folder).name}/{name}"
            groups.setdefault(key, []).extend(members)
        for name, members in groups.items():
            if len(members) < 2:
                raise user_error(
                    f"aligned input {members[0].path} has no partner file",
                    "give two or more line-aligned files, one per language",
                )
            langs = [inp.lang for inp in members]
            twice = next((lang for lang in langs if langs.count(lang) > 1), None)
            if twice:
                paths = ", ".join(inp.path for inp in members if inp.lang == twice)
                raise user_error(f"two aligned files in language {twice!r} in group {name}: {paths}")
        return list(groups.items())

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for name, group in self.groups():
            streams = [read_lines(inp.file, ctx.invalid) for inp in group]
            count = 0
            for lines in zip_longest(*streams):
                ended = [inp for inp, line in zip(group, lines, strict=False) if line is None]
                number = next(line[0] for line in lines if line is not None)
                if ended:
                    longer = next(inp for inp, line in zip(group, lines, strict=False) if line is not None)
                    error = line_count_mismatch(longer.file, number, ended[0].file, number - 1)
                    ctx.invalid(error.path, error.line, error.problem, error.fix)
                    continue
                if any(text is None for _, text in lines):
                    continue  # undecodable line, already reported
                count += 1
                entries = [(inp.lang, text, "") for inp, (_, text) in zip(group, lines, strict=False)]
                pivot = min(entries, key=lambda entry: self.langs.index(entry[0]))[1].strip().casefold()
                fields = {"id": f"{name}:{pivot}", "source": name, "entries": entries}
                yield Record(group[0].path, number, fields)
            _check_not_empty(count, group[0].file, ctx)


@register
class MuseReader(Reader):
    """MUSE bilingual dictionaries, `source target` (MUSE) or `target @ source` (hunalign); the layout
    is read from each file's first line and every line must follow it. Languages come from the file
    name `<src>-<tgt>.dict` (else from --lang src,tgt). Entries keep MUSE's frequency order.

    Option `muse_split`: `all`, `train` (entries of the first 5000 distinct source words) or `test`
    (distinct source words 5000-6500), the standard MUSE split reconstructed from the full dictionaries.
    """

    name = "muse"
    multilingual = True
    option_defaults = {"muse_split": "all"}

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return inp.file.suffix == ".dict"

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        if self.options["muse_split"] not in MUSE_SPLITS:
            raise user_error(
                f"unknown MUSE split {self.options['muse_split']!r}", f"use one of {', '.join(MUSE_SPLITS)}"
            )
        return inputs

    def pair_langs(self, path: Path) -> tuple[str, str]:
        found = re.match(r"([A-Za-z]{2,3})-([A-Za-z]{2,3})(?:\.|$)", path.name)
        if found:
            return lang_code(found.group(1)), lang_code(found.group(2))
        if len(self.langs) == 2:
            return self.langs[0], self.langs[1]
        raise user_error(
            f"cannot tell the languages of {path}", "name it <src>-<tgt>.dict or pass --lang SRC,TGT"
        )

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        split = MUSE_SPLITS[self.options["muse_split"]]
        for inp in self.inputs:
            src, tgt = self.pair_langs(inp.file)
            ranks: dict[str, int] = {}
            count = 0
            for number, source, target in dictionary_pairs(inp.file, None, ctx.invalid):
                rank = ranks.setdefault(source, len(ranks))
                count += 1
                if not split.contains(rank):
                    ctx.count_in()
                    ctx.drop("outside_muse_split")
                    continue
                entries = [(src, source, ""), (tgt, target, "")]
                fields = {
                    "id": f"muse:{src}-{tgt}:{source}",
                    "source": f"muse:{inp.file.name}",
                    "entries": entries,
                }
                yield Record(inp.path, number, fields)
            _check_not_empty(count, inp.file, ctx)


def muse_source_words(path: Path, split: str = "test") -> tuple[str, set[str]]:
    """(source language, source words) of one MUSE split of a dictionary; for exclusion lists."""
    reader = MuseReader([Input(str(path))], [], muse_split=split)
    words = {record.fields["entries"][0][1] for record in reader.records(BuildContext())}
    return reader.pair_langs(path)[0], words


@register
class BabelnetReader(Reader):
    """The babelbert-dataset CSV: `synsetID, lang1, lang2, word1, word2, sent1, sent2` with that header;
    sent1/sent2 are the glosses. BabelNet lemmas write spaces as `_`, read back as spaces."""

    name = "babelnet"
    multilingual = True
    header = ("synsetid", "lang1", "lang2", "word1", "word2", "sent1", "sent2")

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        if inp.file.suffix != ".csv" or not inp.file.is_file():
            return False
        with open(inp.file, encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline().strip().lower().replace(" ", "")
        return first.startswith(",".join(cls.header[:5]))

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        return inputs

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        for inp in self.inputs:
            count, header = 0, None
            for number, values in csv_rows(inp.file, ctx.invalid):
                if header is None:
                    header = tuple(value.strip().lower() for value in values)
                    if header != self.header:
                        raise InputError(inp.file, number, f"expected the header {','.join(self.header)}")
                    continue
                if len(values) != len(self.header):
                    ctx.invalid(
                        inp.file,
                        number,
                        f"expected {len(self.header)} fields ({', '.join(self.header)}), found {len(values)}",
                    )
                    continue
                synset, lang1, lang2, word1, word2, gloss1, gloss2 = (value.strip() for value in values)
                try:
                    lang1, lang2 = lang_code(lang1), lang_code(lang2)
                except UserError as exc:
                    ctx.invalid(inp.file, number, exc.args[0])
                    continue
                entries = [(lang1, word1.replace("_", " "), gloss1), (lang2, word2.replace("_", " "), gloss2)]
                count += 1
                yield Record(
                    str(inp.file),
                    number,
                    {"id": synset, "source": f"babelnet:{inp.file.name}", "entries": entries},
                )
            _check_not_empty(count, inp.file, ctx)


@register
class CldrReader(Reader):
    """CLDR emoji annotations (common/annotations/<lang>.xml): each emoji is a synset whose words are
    its short names (type="tts") in each language. INPUT is the annotations folder (one <lang>.xml per
    --lang is read) or the XML files themselves."""

    name = "cldr"
    multilingual = True

    @classmethod
    def sniff(cls, inp: Input) -> bool:
        return inp.file.suffix == ".xml" or (inp.file.is_dir() and any(inp.file.glob("*.xml")))

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        files: list[Input] = []
        for inp in inputs:
            if inp.file.is_dir():
                for lang in langs:
                    path = inp.file / f"{lang}.xml"
                    if not path.is_file():
                        raise user_error(
                            f"no CLDR annotations for {lang!r} in {inp.file}", f"expected {path}"
                        )
                    files.append(Input(str(path), lang))
            else:
                files.append(Input(inp.path, inp.lang or lang_code(inp.file.stem.split("_")[0])))
        return files

    def parse(self, inp: Input, ctx: BuildContext) -> dict[str, tuple[str, int]]:
        """{emoji: (short name, line)} of one file."""
        names: dict[str, tuple[str, int]] = {}
        state: dict[str, Any] = {"cp": None, "text": []}
        parser = xml.parsers.expat.ParserCreate("UTF-8")

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "annotation" and attrs.get("type") == "tts":
                state.update(cp=attrs.get("cp"), line=parser.CurrentLineNumber, text=[])

        def end(tag: str) -> None:
            if tag == "annotation" and state["cp"]:
                names.setdefault(state["cp"], ("".join(state["text"]).strip(), state["line"]))
                state["cp"] = None

        def chars(data: str) -> None:
            if state["cp"]:
                state["text"].append(data)

        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
        try:
            with open(inp.file, "rb") as handle:
                parser.ParseFile(handle)
        except xml.parsers.expat.ExpatError as exc:
            ctx.invalid(inp.file, exc.lineno, f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)}")
            return {}
        _check_not_empty(len(names), inp.file, ctx)
        return names

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        parsed = [(inp, self.parse(inp, ctx)) for inp in self.inputs]
        first, first_names = parsed[0]
        for cp, (_, line) in first_names.items():
            entries = [(inp.lang, names[cp][0], "") for inp, names in parsed if cp in names]
            yield Record(str(first.file), line, {"id": f"cldr:{cp}", "source": "cldr", "entries": entries})


@register
class KuralReader(Reader):
    """The Thirukkural in the `libkural` registry package (its module source, read as data): Tamil
    couplets with G. U. Pope's English verse. `kural_part` picks `train` (the 1,070 couplets outside the
    held-out chapters of the KuralBitextMining task), `test` (those 260) or `all`."""

    name = "kural"
    multilingual = True
    option_defaults = {"kural_part": "train"}

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        if sorted(langs) != ["en", "ta"]:
            raise user_error(
                f"the kural format is Tamil-English, got --lang {','.join(langs)}", "use --lang ta,en"
            )
        return inputs

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        part = self.options["kural_part"]
        if part not in ("train", "test", "all"):
            raise user_error(f"kural_part {part!r} is not one of train, test, all")
        for inp in self.inputs:
            for kural in read_kurals(inp.file):
                if part != "all" and kural_is_test(kural) != (part == "test"):
                    continue
                entries = [("ta", kural.tamil, ""), ("en", kural.english, "")]
                yield Record(
                    inp.path,
                    kural.number,
                    {"id": f"kural:{kural.number}", "source": "libkural", "entries": entries},
                )


@register
class OpenTamilReader(Reader):
    """open-tamil's English-Tamil dictionary (`parallel_dictionary.txt` in the `solthiruthi` registry
    package, `english - tamil` a line). `opentamil_part`: `train` (entries outside the OpenTamilBLI test:
    neither the English word is a test query nor the Tamil word one of their gold translations), `test`
    (the test entries) or `all`. Entries without Tamil script are skipped, as the task skips them."""

    name = "opentamil"
    multilingual = True
    option_defaults = {"opentamil_part": "train"}

    def resolve_langs(self, inputs: list[Input], langs: list[str]) -> list[Input]:
        if sorted(langs) != ["en", "ta"]:
            raise user_error(
                f"the opentamil format is English-Tamil, got --lang {','.join(langs)}", "use --lang en,ta"
            )
        if self.options["opentamil_part"] not in ("train", "test", "all"):
            part = self.options["opentamil_part"]
            raise user_error(f"opentamil_part {part!r} is not one of train, test, all")
        return inputs

    def records(self, ctx: BuildContext) -> Iterator[Record]:
        part = self.options["opentamil_part"]
        for inp in self.inputs:
            path = inp.file / "parallel_dictionary.txt" if inp.file.is_dir() else inp.file
            entries = open_tamil_entries(path)
            gold = bli_split([(source, target) for _, source, target in entries], OPEN_TAMIL_TEST)
            targets = {target for found in gold.values() for target in found}
            for number, source, target in entries:
                is_test = source in gold or target in targets
                if part != "all" and is_test != (part == "test"):
                    ctx.count_in()
                    ctx.drop("opentamil_test" if is_test else "opentamil_train")
                    continue
                words = [("en", source, ""), ("ta", target, "")]
                fields = {"id": f"opentamil:{source}", "source": "open-tamil", "entries": words}
                yield Record(str(path), number, fields)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


DETECTION_ORDER = ("hub", "cldr", "muse", "jsonl", "babelnet", "stsb", "csv", "tsv")


def detect_format(inputs: list[Input], plain_text: str) -> str:
    """The format every input is unmistakably in, else `plain_text` (the kind's plain-text format)."""
    found = {
        next((name for name in DETECTION_ORDER if FORMATS[name].sniff(inp)), plain_text) for inp in inputs
    }
    if len(found) > 1:
        raise user_error(
            f"the inputs look like different formats ({', '.join(sorted(found))})", "pass --format"
        )
    return found.pop()
