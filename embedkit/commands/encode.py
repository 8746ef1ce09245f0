"""embedkit encode MODEL --input FILE --output FILE.npy|FILE.parquet"""

from __future__ import annotations

import argparse
from pathlib import Path

from embedkit.errors import UserError

FORMATS = (".npy", ".parquet")


def register(sub, common) -> None:
    parser = sub.add_parser(
        "encode",
        parents=[common],
        help="embed a text file (one sentence per line) into .npy or .parquet",
        description="Embed every line of a UTF-8 text file: row i is line i. Only \\n ends a line (one "
        "trailing \\r is dropped); an empty line is embedded as the empty text, so the output has exactly "
        "as many rows as the file has lines. .npy holds a float32 matrix; .parquet holds the text and its "
        "embedding per row.",
    )
    parser.add_argument("model", help="'default', a local folder or a Hugging Face Hub id")
    parser.add_argument("--input", "-i", type=Path, required=True, help="text file, one sentence per line")
    parser.add_argument("--output", "-o", type=Path, required=True, help="FILE.npy or FILE.parquet")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--prompt", default=None, help="prompt name of the model, or 'none' (default: the model's default)"
    )
    parser.add_argument("--no-normalize", action="store_true", help="keep raw (not L2-normalised) embeddings")
    parser.set_defaults(func=run)


def encode_lines(model, lines: list[str], batch_size: int, prompt: str | None, normalize: bool):
    """Encode in chunks so a rich progress bar can follow; returns a float32 matrix."""
    import numpy as np

    from embedkit.console import progress

    kwargs = {"prompt": ""} if prompt == "none" else ({"prompt_name": prompt} if prompt else {})
    chunk = batch_size * 8
    parts = []
    with progress() as bar:
        task = bar.add_task("encoding", total=len(lines))
        for start in range(0, len(lines), chunk):
            batch = lines[start : start + chunk]
            parts.append(
                model.encode(
                    batch,
                    batch_size=batch_size,
                    normalize_embeddings=normalize,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                    **kwargs,
                )  # fmt: skip
            )
            bar.advance(task, len(batch))
    return np.concatenate(parts).astype(np.float32)


def drop_normalize(model) -> None:
    """Remove a trailing Normalize module, so --no-normalize gives the raw pooled vectors."""
    from sentence_transformers.models import Normalize

    if len(model) and isinstance(model[len(model) - 1], Normalize):
        del model[len(model) - 1]


def read_input(path: Path) -> list[str]:
    """Every line of the input, one text each (empty lines included); an empty file is an error."""
    from corpora.readers import text_lines

    if not path.is_file():
        raise UserError(f"--input {path}: no such file")
    lines = text_lines(path)
    if not lines:
        raise UserError(f"--input {path}: the file is empty; give one text per line")
    return lines


def run(args: argparse.Namespace) -> int:
    from embedkit.atomic import atomic_file, check_output_path
    from embedkit.models import load_model

    if args.output.suffix not in FORMATS:
        raise UserError(f"--output {args.output}: use a .npy or .parquet file name")
    check_output_path(args.output, "--output", kind="file")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    lines = read_input(args.input)
    model = load_model(args.model)
    if args.prompt not in (None, "none") and args.prompt not in model.prompts:
        raise UserError(
            f"--prompt {args.prompt!r}: the model has prompts {sorted(model.prompts)} (or use 'none')"
        )
    if args.no_normalize:
        drop_normalize(model)
    embeddings = encode_lines(model, lines, args.batch_size, args.prompt, not args.no_normalize)
    with atomic_file(args.output) as tmp:
        if args.output.suffix == ".npy":
            import numpy as np

            with open(tmp, "wb") as handle:
                np.save(handle, embeddings)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            dim = embeddings.shape[1]
            column = pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1)), dim)
            pq.write_table(pa.table({"text": lines, "embedding": column}), tmp)
    print(args.output)
    return 0
