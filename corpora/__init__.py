"""Corpus builders: public sources -> validated, reproducible training sets (see the contracts).

build_corpus(kind, inputs, langs, out, fmt=None, skip_invalid=False, progress=SILENT, **options) -> Path
build_from_spec(spec, cache_dir, progress=SILENT) -> Path
load_corpus(path) -> datasets.Dataset
read_manifest(path) -> dict

File layouts are parsed in corpora.readers; held-out split rules live in corpora.heldout.
"""

from __future__ import annotations

from corpora import tagged as _tagged  # noqa: F401  (registers the `tagged` kind)
from corpora.build import BUILDER_VERSION, build_corpus, load_corpus, read_manifest
from corpora.formats import FORMATS
from corpora.kinds import KINDS
from corpora.spec import build_from_spec

__all__ = [
    "BUILDER_VERSION",
    "FORMATS",
    "KINDS",
    "build_corpus",
    "build_from_spec",
    "load_corpus",
    "read_manifest",
]
