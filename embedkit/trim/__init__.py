"""Vocabulary trimming: keep only the tokens a set of languages uses (see `embedkit trim --help`)."""

from embedkit.trim.build import DEFAULT_VOCAB_SIZE, PROVENANCE_FILE, plan_trim, trim_model
from embedkit.trim.scripts import parse_langs

__all__ = ["DEFAULT_VOCAB_SIZE", "PROVENANCE_FILE", "parse_langs", "plan_trim", "trim_model"]
