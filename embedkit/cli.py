"""embedkit: build and benchmark sentence-embedding models for low-resource languages.

Each subcommand lives in embedkit/commands/<name>.py and exposes `register(subparsers, common)`;
heavy imports happen inside the command, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from embedkit import __version__
from embedkit.console import console, print_error, setup_logging
from embedkit.errors import EmbedkitError

COMMANDS = ["model", "encode", "corpus", "train", "eval", "publish", "tune", "trim"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # bad usage: exit 2 with one line
        self.print_usage(sys.stderr)
        print_error(message)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="embedkit", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"embedkit {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or info messages")
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"embedkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"embedkit.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub, common)
    return parser


def _quiet_libraries() -> None:
    # Library chatter (weight-loading bars, prompt notices) drowns our own progress and messages.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    setup_logging(quiet=getattr(args, "quiet", False), debug=getattr(args, "debug", False))
    try:
        result = args.func(args)
        return int(result or 0)
    except EmbedkitError as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:  # unexpected: one line unless --debug
        if getattr(args, "debug", False):
            traceback.print_exc()
        print_error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
