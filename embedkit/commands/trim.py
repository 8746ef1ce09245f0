"""`embedkit trim MODEL --langs L1,L2 --out DIR`: a smaller model that keeps only its languages' tokens."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """Trim a model's vocabulary to the named languages and write a new sentence-transformers folder
(tokenizer, word-embedding rows, config vocab_size, prompts and pooling). Kept: every special token; every
single-character piece of the languages' Unicode scripts (so their text never becomes <unk>); every token seen
in --text/--corpus (at least --min-count times); then, up to --vocab-size, the remaining pieces written only
in those scripts, most frequent first, then by Unigram piece score. Without --text/--corpus the frequency is
a per-language mixture of wordfreq word frequencies (broad, conversational), the training side of
../shared/data (NTREX-128, TICO-19, FLoRes-v1 dev; tokens seen twice or more) and the Unigram piece scores of
each non-Latin script. Supports Unigram (SentencePiece-style) tokenizers: XLM-R, mT5, multilingual-E5.
Prints the new folder as the last line."""


def register(subparsers, common) -> None:
    from embedkit.trim import DEFAULT_VOCAB_SIZE

    p = subparsers.add_parser(
        "trim",
        parents=[common],
        help="trim a model's vocabulary to a set of languages",
        description=DESCRIPTION,
    )
    p.add_argument("model", metavar="MODEL", help="default, a model folder, or a Hub id")
    p.add_argument("--langs", required=True, help="comma-separated language codes (ISO 639-1 or 639-3)")
    p.add_argument("--out", type=Path, required=True, help="the new model folder (must not exist)")
    p.add_argument(
        "--text", type=Path, nargs="+", default=[], help="text files, one text per line: keep their tokens"
    )
    p.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        default=[],
        help="`embedkit corpus build` folders: keep their tokens",
    )
    p.add_argument(
        "--vocab-size",
        type=int,
        default=DEFAULT_VOCAB_SIZE,
        help=f"tokens in the trimmed vocabulary, specials included (default {DEFAULT_VOCAB_SIZE:,})",
    )
    p.add_argument(
        "--min-count",
        type=int,
        default=1,
        help="a --text/--corpus token is kept when seen at least this often (default 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from embedkit.atomic import check_output_path
    from embedkit.console import RichProgress, info
    from embedkit.errors import UserError
    from embedkit.trim import parse_langs, trim_model

    langs = parse_langs(args.langs)
    out = check_output_path(args.out, "--out")
    if out.exists():
        raise UserError(f"--out {out} already exists; choose a new folder (trim never overwrites)")
    provenance = trim_model(
        args.model,
        langs,
        out,
        texts=args.text,
        corpora=args.corpus,
        vocab_size=args.vocab_size,
        min_count=args.min_count,
        progress=RichProgress(),
    )
    params, rules = provenance["parameters"], provenance["kept_by_rule"]
    info(f"frequency source: {provenance['frequency_source']['name']}")
    info(
        f"kept {provenance['kept_tokens']:,} of {provenance['source_model']['tokenizer_size']:,} tokens: "
        + ", ".join(f"{n:,} {rule.replace('_', ' ')}" for rule, n in rules.items())
    )
    info(f"parameters: {params['before']:,} -> {params['after']:,} ({params['ratio']:.1%})")
    print(out)
    return 0
