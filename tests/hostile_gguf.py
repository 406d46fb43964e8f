"""Raw GGUF bytes for crafted files: any metadata value, any tensor info, data left as a hole.

The layout is written out from llama.cpp's ggml/docs/gguf.md (magic, version 3, tensor count,
key count as u64, then key/value pairs, tensor infos, padding to 32 bytes, data), not from the
reader under test, so a header can say things no writer would (2^64 − 1 heads, a tensor in
layer four billion) and a file can be gigabytes of sparse zeros.
"""

from __future__ import annotations

import struct
from pathlib import Path

U8, U32, U64, STRING, ARRAY = 0, 4, 10, 8, 9
F32, F16 = 0, 1
# ggml type id → bytes per element (F32, F16; no blocks), from ggml.h's type table.
ELEMENT_BYTES = {F32: 4, F16: 2}
ALIGNMENT = 32


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def value(kind: int, item: object) -> bytes:
    if kind == STRING:
        assert isinstance(item, str)
        return struct.pack("<I", STRING) + string(item)
    fmt = {U8: "<B", U32: "<I", U64: "<Q"}[kind]
    return struct.pack("<I", kind) + struct.pack(fmt, item)


def header_bytes(metadata: list[tuple[str, int, object]],
                 tensors: list[tuple[str, tuple[int, ...], int]]) -> tuple[bytes, int]:
    """(header padded to the data start, data bytes the tensors need), tensors laid out in order.

    `metadata` is (key, value type, value); `tensors` (name, ggml shape (row length first), type)."""
    body = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, kind, item in metadata:
        body += string(key) + value(kind, item)
    offset = 0
    for name, shape, kind in tensors:
        body += string(name) + struct.pack("<I", len(shape))
        body += b"".join(struct.pack("<Q", extent) for extent in shape)
        body += struct.pack("<IQ", kind, min(offset, 2**64 - 1))  # past that, no file holds it
        size = ELEMENT_BYTES[kind]
        for extent in shape:
            size *= extent
        offset += -(-size // ALIGNMENT) * ALIGNMENT
    body += bytes(-len(body) % ALIGNMENT)
    return bytes(body), offset


def write_raw_gguf(path: Path, metadata: list[tuple[str, int, object]],
                   tensors: list[tuple[str, tuple[int, ...], int]]) -> int:
    """Write the header and leave the data a hole (a sparse file); returns the file size."""
    header, data = header_bytes(metadata, tensors)
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data)
    return len(header) + data


def tensor_bytes(shape: tuple[int, ...], kind: int) -> int:
    """A tensor's size without padding: elements × bytes per element."""
    size = ELEMENT_BYTES[kind]
    for extent in shape:
        size *= extent
    return size


def llama_metadata(**overrides: tuple[int, object] | None) -> list[tuple[str, int, object]]:
    """A small Llama's metadata; an override of None drops the key."""
    keys: dict[str, tuple[int, object] | None] = {
        "general.architecture": (STRING, "llama"),
        "llama.block_count": (U32, 2), "llama.embedding_length": (U32, 64),
        "llama.feed_forward_length": (U32, 128), "llama.attention.head_count": (U32, 4),
        "llama.attention.head_count_kv": (U32, 2), "llama.context_length": (U32, 2048),
        "llama.vocab_size": (U32, 256)}
    keys.update({key.replace("__", "."): item for key, item in overrides.items()})
    return [(key, kind, item) for key, entry in keys.items() if entry is not None
            for kind, item in (entry,)]


def llama_tensors(layers: int = 2, hidden: int = 64, ffn: int = 128, vocab: int = 256,
                  kv_width: int = 32, kind: int = F16) -> list[tuple[str, tuple[int, ...], int]]:
    """A Llama-shaped tensor list in llama.cpp's names, ggml shapes (row length first)."""
    tensors: list[tuple[str, tuple[int, ...], int]] = [("token_embd.weight", (hidden, vocab), kind)]
    for layer in range(layers):
        tensors += [(f"blk.{layer}.attn_norm.weight", (hidden,), F32),
                    (f"blk.{layer}.attn_q.weight", (hidden, hidden), kind),
                    (f"blk.{layer}.attn_k.weight", (hidden, kv_width), kind),
                    (f"blk.{layer}.attn_v.weight", (hidden, kv_width), kind),
                    (f"blk.{layer}.attn_output.weight", (hidden, hidden), kind),
                    (f"blk.{layer}.ffn_norm.weight", (hidden,), F32),
                    (f"blk.{layer}.ffn_gate.weight", (hidden, ffn), kind),
                    (f"blk.{layer}.ffn_up.weight", (hidden, ffn), kind),
                    (f"blk.{layer}.ffn_down.weight", (ffn, hidden), kind)]
    return [*tensors, ("output_norm.weight", (hidden,), F32), ("output.weight", (hidden, vocab), kind)]
