"""`embedkit encode`: row i of the output is line i of the input, whatever the line holds, and a bad --output
is refused before any model is loaded."""

from __future__ import annotations

import numpy as np
import pytest

from embedkit.cli import main

# Real Sinhala and Hindi sentences with the characters str.splitlines would split on, inside lines.
AWKWARD = [
    "ශ්‍රී ලංකාව\u2028දකුණු ආසියාවේ",  # U+2028 LINE SEPARATOR
    "",  # an empty line is a row (the empty text)
    "\x0cभारत एक देश है",  # form feed
    "नमस्ते \x85 दुनिया",  # NEL
    "   ",
    "एक \r दो",  # a lone carriage return
    "",
    "last line",
]


def write_input(path, ending: str = "\n"):
    path.write_bytes("".join(line + ending for line in AWKWARD).encode("utf-8"))
    return path


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_one_row_per_line(tiny_model, tmp_path, ending):
    import pyarrow.parquet as pq
    from sentence_transformers import SentenceTransformer

    source = write_input(tmp_path / "in.txt", ending)
    out = tmp_path / "e.parquet"
    assert main(["encode", str(tiny_model), "-i", str(source), "-o", str(out), "--quiet"]) == 0
    table = pq.read_table(out)
    assert table.num_rows == len(AWKWARD)
    assert table.column("text").to_pylist() == AWKWARD
    assert main(["encode", str(tiny_model), "-i", str(source), "-o", str(tmp_path / "e.npy"), "--quiet"]) == 0
    matrix = np.load(tmp_path / "e.npy")
    reference = SentenceTransformer(str(tiny_model), local_files_only=True).encode(
        AWKWARD, normalize_embeddings=True
    )
    assert matrix.shape[0] == len(AWKWARD)
    assert np.allclose(matrix, reference, atol=1e-5)  # row i is the embedding of line i


def test_a_last_line_without_newline_is_a_row(tiny_model, tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes("पहला\n\nतीसरा".encode())
    assert main(["encode", str(tiny_model), "-i", str(source), "-o", str(tmp_path / "e.npy"), "-q"]) == 0
    assert np.load(tmp_path / "e.npy").shape[0] == 3


def test_nul_in_the_input_names_the_line(tiny_model, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"one\ntw\x00o\n")
    assert main(["encode", str(tiny_model), "-i", str(source), "-o", str(tmp_path / "e.npy")]) == 2
    assert f"{source}:2: NUL byte" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "e.npy").exists()


def test_output_folder_is_refused_before_loading_the_model(tmp_path, capsys):
    source = write_input(tmp_path / "in.txt")
    folder = tmp_path / "out.npy"
    folder.mkdir()
    # a model that does not exist: the --output check must come first
    missing_model = str(tmp_path / "no-such-model")
    assert main(["encode", missing_model, "-i", str(source), "-o", str(folder)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--output {folder} is a folder" in err and "no-such-model" not in err


def test_output_under_a_file_is_refused_before_loading_the_model(tmp_path, capsys):
    source = write_input(tmp_path / "in.txt")
    target = tmp_path / "in.txt" / "e.npy"
    assert main(["encode", str(tmp_path / "no-such-model"), "-i", str(source), "-o", str(target)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is a file, not a folder" in err and "no-such-model" not in err


def test_unwritable_output_is_refused_before_loading_the_model(tmp_path, read_only_dir, capsys):
    source = write_input(tmp_path / "in.txt")
    target = read_only_dir / "e.npy"
    assert main(["encode", str(tmp_path / "no-such-model"), "-i", str(source), "-o", str(target)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot write in" in err and "no-such-model" not in err


def test_an_error_naming_a_path_with_brackets_prints_it_verbatim(tiny_model, tmp_path, capsys):
    # Paths and library messages (gloo's "[/__w/.../pair.cc:553]") look like rich markup; printing them as
    # markup crashed the error report itself.
    folder = tmp_path / "[/red]runs[bold]"
    folder.mkdir(parents=True)
    source = folder / "in.txt"
    source.write_bytes(b"one\ntw\x00o\n")
    assert main(["encode", str(tiny_model), "-i", str(source), "-o", str(tmp_path / "e.npy")]) == 2
    assert f"{source}:2: NUL byte" in " ".join(capsys.readouterr().err.split())
