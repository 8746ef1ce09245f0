"""embedkit corpus build KIND INPUT... --lang L[,L2] --out DIR [--format F] [--skip-invalid] [--num-proc N]"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from embedkit.errors import UserError

KINDS = ("nli", "sts", "parallel", "lexicon", "tagged")
VALUE_FLAGS = (
    "format",
    "num_proc",
    "scale",
    "key",
    "max_ratio",
    "max_chars",
    "min_script_share",
    "muse_split",
)
VALUE_FLAGS += ("kural_part", "opentamil_part", "hub_config", "split", "tagger", "wordlist")
FORMATS = (
    "stsb",
    "tsv",
    "csv",
    "jsonl",
    "text",
    "aligned",
    "muse",
    "babelnet",
    "cldr",
    "kural",
    "opentamil",
    "hub",
)


def register(sub, common) -> None:
    parser = sub.add_parser(
        "corpus",
        parents=[common],
        help="build training corpora (nli, sts, parallel, lexicon, tagged) from public sources",
        description="Build validated, reproducible training corpora: a datasets folder plus manifest.json.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    build = actions.add_parser(
        "build",
        parents=[common],
        help="build a corpus folder",
        description="Build a corpus of KIND from INPUT files (or a Hub dataset id). An INPUT may be written "
        "LANG=PATH to declare its language; otherwise it comes from the file name (.hi, -mr, .hin.txt) or "
        "from --lang. Strict by default: a malformed row stops the build (exit 2, file:line named, nothing "
        "written); --skip-invalid drops such rows and lists them in manifest.json.",
    )
    build.add_argument("kind", choices=KINDS)
    build.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="files, a folder (cldr) or a Hub dataset id"
    )
    build.add_argument("--lang", required=True, help="language(s): hi, or en,hi (source first for parallel)")
    build.add_argument("--out", "-o", type=Path, required=True, help="corpus folder to write")
    build.add_argument("--format", choices=FORMATS, help="input format (default: detected)")
    build.add_argument("--skip-invalid", action="store_true", help="drop malformed rows instead of stopping")
    build.add_argument("--num-proc", type=int, default=None, help="worker processes for per-row steps")
    fields = build.add_argument_group("fields (tsv, csv, jsonl, hub)")
    fields.add_argument("--column", action="append", metavar="NAME=FIELD", help="read column NAME from FIELD")
    sts = build.add_argument_group("sts")
    sts.add_argument("--scale", metavar="MIN,MAX", help="score scale of the input (stsb: 0,5)")
    sts.add_argument(
        "--key", metavar="F1,F2", help="fields joining two languages (default genre,file,year,idx)"
    )
    nli = build.add_argument_group("nli")
    nli.add_argument(
        "--label",
        action="append",
        metavar="CLASS=VALUE",
        help="declare a label value: CLASS is entailment, neutral, contradiction or ignore",
    )
    parallel = build.add_argument_group("parallel / lexicon cleaning")
    parallel.add_argument("--max-ratio", type=float, help="longest/shortest length in characters (default 3)")
    parallel.add_argument("--max-chars", type=int, help="drop longer lines (default 1000)")
    parallel.add_argument(
        "--min-script-share", type=float, help="share of letters in the language's script (0.5)"
    )
    lexicon = build.add_argument_group("lexicon")
    lexicon.add_argument("--muse-split", choices=("all", "train", "test"), help="MUSE split of .dict inputs")
    lexicon.add_argument(
        "--kural-part",
        choices=("train", "test", "all"),
        help="Thirukkural couplets of the kural format (default train: outside the held-out chapters)",
    )
    lexicon.add_argument(
        "--opentamil-part",
        choices=("train", "test", "all"),
        help="entries of the opentamil format (default train: outside the OpenTamilBLI test words)",
    )
    lexicon.add_argument(
        "--exclude-muse-test",
        action="append",
        metavar="[LANG=]DICT",
        help="never emit the test-split source words of this MUSE dictionary",
    )
    lexicon.add_argument(
        "--exclude-words", action="append", metavar="LANG=FILE", help="never emit these words"
    )
    hub = build.add_argument_group("hub")
    hub.add_argument("--hub-config", help="dataset config; {lang} loads one per --lang (IndicXNLI: {lang})")
    hub.add_argument("--split", help="dataset split (default train)")
    tagged = build.add_argument_group("tagged")
    tagged.add_argument(
        "--tagger", metavar="COMPONENTS", help="tagger components replacing the language's own"
    )
    tagged.add_argument("--wordlist", type=Path, help="TSV word<TAB>NOUN|VERB|ENT for the dictionary tagger")
    build.set_defaults(func=run_build)

    show = actions.add_parser("show", parents=[common], help="print a corpus folder's manifest summary")
    show.add_argument("folder", type=Path)
    show.set_defaults(func=run_show)

    evaluate = actions.add_parser(
        "tagger-eval",
        parents=[common],
        help="precision / recall of the taggers on the hand-annotated sample",
        description="Tag the hand-annotated sample (corpora/data/tagger_eval/<lang>.txt, or --sample) "
        "and print exact-match precision / recall of NOUN, VERB and ENT spans per language.",
    )
    evaluate.add_argument("--lang", default="hi,si,en", help="languages (default hi,si,en)")
    evaluate.add_argument(
        "--sample", type=Path, help="an annotated file ([words|LABEL] markup), one language"
    )
    evaluate.add_argument("--wordlist", type=Path, help="word list for the dictionary tagger")
    evaluate.set_defaults(func=run_tagger_eval)


def _pairs(values: list[str] | None, flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        name, sep, field = value.partition("=")
        if not sep or not name or not field:
            raise UserError(f"{flag} {value!r}: expected NAME=VALUE")
        pairs.append((name.strip(), field.strip()))
    return pairs


def build_options(args: argparse.Namespace) -> dict:
    labels: dict[str, list[str]] = {}
    for name, value in _pairs(args.label, "--label"):
        labels.setdefault(name, []).append(value)
    return {
        "columns": dict(_pairs(args.column, "--column")) or None,
        "scale": args.scale,
        "key": args.key,
        "labels": labels or None,
        "max_ratio": args.max_ratio,
        "max_chars": args.max_chars,
        "min_script_share": args.min_script_share,
        "muse_split": args.muse_split,
        "kural_part": args.kural_part,
        "opentamil_part": args.opentamil_part,
        "exclude_muse_test": args.exclude_muse_test,
        "exclude_words": args.exclude_words,
        "hub_config": args.hub_config,
        "split": args.split,
        "tagger": args.tagger,
        "wordlist": str(args.wordlist) if args.wordlist else None,
    }


def command_line(args: argparse.Namespace) -> str:
    """The build as one reproducible command line (recorded in the manifest)."""
    words = [
        "embedkit",
        "corpus",
        "build",
        args.kind,
        *args.inputs,
        "--lang",
        args.lang,
        "--out",
        str(args.out),
    ]
    for flag in VALUE_FLAGS:
        value = getattr(args, flag)
        if value is not None:
            words += [f"--{flag.replace('_', '-')}", str(value)]
    for flag in ("column", "label", "exclude_muse_test", "exclude_words"):
        for value in getattr(args, flag) or []:
            words += [f"--{flag.replace('_', '-')}", value]
    if args.skip_invalid:
        words.append("--skip-invalid")
    return shlex.join(words)


def run_build(args: argparse.Namespace) -> int:
    from corpora import build_corpus
    from embedkit.console import RichProgress

    if args.num_proc is not None and args.num_proc < 1:
        raise UserError("--num-proc must be at least 1")
    out = build_corpus(
        args.kind,
        args.inputs,
        args.lang,
        args.out,
        fmt=args.format,
        skip_invalid=args.skip_invalid,
        num_proc=args.num_proc,
        command=command_line(args),
        progress=RichProgress(),
        **build_options(args),
    )
    print(out)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from corpora import read_manifest

    manifest = read_manifest(args.folder)
    keys = ("kind", "format", "languages", "rows_in", "rows_built", "rows_out", "drops", "command")
    print(json.dumps({key: manifest.get(key) for key in keys}, ensure_ascii=False, indent=2))
    return 0


def run_tagger_eval(args: argparse.Namespace) -> int:
    from corpora.languages import lang_code
    from corpora.tagged import evaluate_tagger, evaluation_table

    langs = [lang_code(lang) for lang in args.lang.split(",") if lang.strip()]
    if args.sample and len(langs) != 1:
        raise UserError("--sample is one language's file: pass a single --lang")
    wordlist = str(args.wordlist) if args.wordlist else None
    print(evaluation_table([evaluate_tagger(lang, args.sample, wordlist=wordlist) for lang in langs]))
    return 0
