"""`embedkit eval` output folders that no failure can block: results and metadata are written
temp-then-rename, a damaged cached file (0 bytes, truncated, not JSON, the wrong shape) is named in a
warning and recomputed, a full disk at any write leaves only JSON that parses and a folder the next run
completes with the same scores; --out and --langs mistakes stop before any work; outputs get the umask.

Real task data (STSbEnglish from ../shared/data) and the tiny model with the real tokenizer."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from mteb.results import TaskResult

from embedkit.cli import main
from embedkit.errors import UserError
from embedkit.evaluation import load_eval

TASK = "STSbEnglish"


def _eval(model: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--quiet", str(model), "--tasks", TASK, "--out", str(out), *extra])


def _scores(out: Path) -> dict[tuple[str, str, str], float]:
    return {
        (model.label, task, subset): score
        for model in load_eval(out).models
        for task, subsets in model.scores.items()
        for subset, score in subsets.items()
    }


def _assert_every_json_parses_and_no_temp_is_left(out: Path) -> None:
    for path in out.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # raises, naming nothing, if one is damaged
    leftovers = [p for p in out.rglob(".*") if ".tmp-" in p.name or p.name.startswith(".results-staging-")]
    assert not leftovers, leftovers


@pytest.fixture(scope="module")
def clean(tmp_path_factory, tiny_model, shared_data) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean") / "out"
    assert _eval(tiny_model, out) == 0
    scores = _scores(out)
    assert len(scores) == 1 and 0 < abs(next(iter(scores.values()))) <= 100
    return out, scores


def _result_files(out: Path) -> tuple[Path, Path]:
    (result,) = out.glob(f"results/*/*/experiments/*/{TASK}.json")
    return result, result.parent / "model_meta.json"


def _damage(path: Path, how: str) -> None:
    text = path.read_text(encoding="utf-8")
    if how == "empty":
        path.write_text("", encoding="utf-8")
    elif how == "truncated":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif how == "not-json":
        path.write_text("<html>502 Bad Gateway</html>\n", encoding="utf-8")
    elif how == "wrong-shape":  # valid JSON, but not what mteb wrote
        data = json.loads(text)
        if path.name == "model_meta.json":
            path.write_text(json.dumps([data["name"], data["revision"]]), encoding="utf-8")
        else:
            for entries in data["scores"].values():
                for entry in entries:
                    entry.pop("main_score")
            path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("how", ["empty", "truncated", "not-json", "wrong-shape"])
@pytest.mark.parametrize("which", ["result", "model_meta"])
def test_a_damaged_cached_file_is_named_and_recomputed(clean, tiny_model, tmp_path, logged, which, how):
    out = tmp_path / "out"
    shutil.copytree(clean[0], out)
    result, meta = _result_files(out)
    damaged = result if which == "result" else meta
    _damage(damaged, how)
    with pytest.raises(UserError, match=f"{damaged} is damaged"):  # reading the folder back names it
        load_eval(out)

    assert _eval(tiny_model, out) == 0
    assert str(damaged) in logged.text and "damaged" in logged.text
    _assert_every_json_parses_and_no_temp_is_left(out)
    assert TaskResult.from_disk(result).task_name == TASK
    assert json.loads(meta.read_text(encoding="utf-8"))["name"] == "local/tiny-model"
    assert _scores(out) == clean[1]


def test_a_damaged_eval_json_is_named_and_rewritten(clean, tiny_model, tmp_path, logged):
    out = tmp_path / "out"
    shutil.copytree(clean[0], out)
    (out / "eval.json").write_text('{"models": [', encoding="utf-8")
    assert _eval(tiny_model, out) == 0
    assert f"{out / 'eval.json'} is damaged" in logged.text
    assert json.loads((out / "eval.json").read_text(encoding="utf-8"))["tasks"] == [TASK]
    assert _scores(out) == clean[1]


class DiskFull:
    """`open` for writing under `root`: the k-th call creates the file empty and fails with ENOSPC, as a
    full disk does at the first write (k=0: never fails, only counts)."""

    def __init__(self, root: Path, k: int):
        self.root, self.k, self.count, self.real = root.resolve(), k, 0, io.open
        self.failed: Path | None = None
        self.written: list[str] = []  # the name of each file opened for writing, temp prefixes removed

    def __call__(self, file, mode="r", *args, **kwargs):
        if isinstance(file, str | bytes | os.PathLike) and any(c in mode for c in "wax+"):
            path = Path(os.fsdecode(file)).resolve()
            if path.is_relative_to(self.root) and not path.is_dir():  # a folder: tempfile's O_TMPFILE probe
                self.count += 1
                self.written.append(path.name.split(".tmp-")[0].lstrip("."))
                if self.count == self.k:
                    self.failed = path
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return self.real(file, mode, *args, **kwargs)


def _eval_with_full_disk(monkeypatch, model: Path, out: Path, k: int, *extra: str) -> tuple[int, DiskFull]:
    full = DiskFull(out.parent, k)
    with monkeypatch.context() as patch:
        patch.setattr(builtins, "open", full)
        patch.setattr(io, "open", full)
        rc = _eval(model, out, *extra)
    return rc, full


def test_a_full_disk_at_any_write_leaves_a_folder_the_next_run_completes(
    clean, tiny_model, tmp_path, monkeypatch, capsys
):
    rc, counted = _eval_with_full_disk(monkeypatch, tiny_model, tmp_path / "count" / "out", 0)
    assert rc == 0
    # one failure point per file the run writes (its first write): results, model_meta.json,
    # run_settings.jsonl, eval.json, the plots, report.html, report.md
    first = {name: k for k, name in reversed(list(enumerate(counted.written, 1)))}
    assert {f"{TASK}.json", "model_meta.json", "run_settings.jsonl", "eval.json", "report.md"} <= set(first)
    # a first run into a fresh folder; and --overwrite over finished results, failing at a result write
    cases = [(k, True) for k in sorted(first.values())]
    cases += [(first[name], False) for name in (f"{TASK}.json", "model_meta.json")]
    for k, fresh in cases:
        out = tmp_path / f"{'fresh' if fresh else 'overwrite'}-{k}" / "out"
        if not fresh:
            shutil.copytree(clean[0], out)
        rc, full = _eval_with_full_disk(monkeypatch, tiny_model, out, k, *([] if fresh else ["--overwrite"]))
        err = capsys.readouterr().err
        assert full.failed is not None
        assert rc == 1, (k, fresh, err)  # a failed write is never a success
        assert "No space left on device" in " ".join(err.split()), (k, err)
        _assert_every_json_parses_and_no_temp_is_left(out)
        if not fresh:  # the finished result survived the failed overwrite
            assert TaskResult.from_disk(_result_files(out)[0]).task_name == TASK
        assert _eval(tiny_model, out) == 0, (k, fresh, capsys.readouterr().err)
        _assert_every_json_parses_and_no_temp_is_left(out)
        assert _scores(out) == clean[1], (k, fresh)


def test_outputs_are_readable_by_others_under_umask_022(tmp_path, tiny_model, shared_data):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        assert _eval(tiny_model, out) == 0
    finally:
        os.umask(old)
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


def test_an_out_that_is_a_file_stops_before_any_model_loads(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("a file\n", encoding="utf-8")
    # the model does not exist: the --out check has to come first to be what the user sees
    assert main(["eval", "--quiet", str(tmp_path / "no-model"), "--tasks", TASK, "--out", str(out)]) == 2
    err = "".join(capsys.readouterr().err.split())  # the screen wraps long paths anywhere
    assert "".join(f"--out {out} is an existing file, not a folder (choose another --out)".split()) in err
    assert out.read_text(encoding="utf-8") == "a file\n"
    nested = out / "sub"
    assert main(["eval", "--quiet", str(tmp_path / "no-model"), "--tasks", TASK, "--out", str(nested)]) == 2
    assert "".join(f"{out} is a file, not a folder".split()) in "".join(capsys.readouterr().err.split())


def test_a_read_only_out_stops_before_any_model_loads(tmp_path, read_only_dir, capsys):
    out = read_only_dir / "out"
    assert main(["eval", "--quiet", str(tmp_path / "no-model"), "--tasks", TASK, "--out", str(out)]) == 2
    assert "cannot write in" in " ".join(capsys.readouterr().err.split())


def test_a_named_task_with_no_subset_in_langs_is_an_error(tmp_path, tiny_model, capsys):
    out = tmp_path / "out"
    rc = main(
        [
            "eval",
            "--quiet",
            str(tiny_model),
            "--tasks",
            "MahaSTS,STSbIndic",
            "--langs",
            "hin",
            "--out",
            str(out),
        ]
    )
    assert rc == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "MahaSTS has mar" in err and "--langs hin" in err
    assert not out.exists()  # nothing ran


def test_evaluation_library_does_not_import_the_console():
    root = Path(__file__).resolve().parent.parent / "embedkit/evaluation"
    users = [p.name for p in root.rglob("*.py") if "embedkit.console" in p.read_text(encoding="utf-8")]
    assert users == []
