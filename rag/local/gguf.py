"""The key-value header of a GGUF file (llama.cpp's model format), read without loading the model.

A GGUF file starts with b"GGUF", a uint32 version, a uint64 tensor count and a uint64 key count, then
each key (a uint64 length and UTF-8 bytes), a uint32 value type and the value; arrays are a uint32
element type, a uint64 count and the elements. Little-endian throughout (GGUF versions 2 and 3).
Scalars and strings are returned; arrays (the tokenizer's vocabulary) are skipped, their length kept.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


class NotGGUF(ValueError):
    """The file is not a GGUF model (or its header is cut short)."""


def metadata(path: str | Path, until: str | None = None) -> dict[str, object]:
    """The header's keys and values, up to and including the key `until` (all when None). An array's
    value is `("array", its length)`. NotGGUF when the file is not one or ends inside its header.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".gguf", delete=False) as f:
    ...     _ = f.write(header({"general.architecture": "qwen2", "general.name": "Tiny", "n": 7}))
    >>> metadata(f.name)
    {'general.architecture': 'qwen2', 'general.name': 'Tiny', 'n': 7}
    >>> metadata(f.name, until="general.name")
    {'general.architecture': 'qwen2', 'general.name': 'Tiny'}
    """
    with open(path, "rb") as stream:
        if stream.read(4) != MAGIC:
            raise NotGGUF(f"{path} is not a GGUF file (it does not start with {MAGIC!r})")
        try:
            _, _, count = struct.unpack("<IQQ", _exactly(stream, 20))
            found: dict[str, object] = {}
            for _ in range(count):
                key = _string(stream)
                found[key] = _value(stream, struct.unpack("<I", _exactly(stream, 4))[0])
                if key == until:
                    break
            return found
        except (EOFError, KeyError, UnicodeDecodeError) as err:
            raise NotGGUF(f"{path}: its GGUF header is unreadable ({type(err).__name__}: {err})") from None


def name(path: str | Path) -> str:
    """The model's own name (`general.name`), '' when the header has none."""
    return str(metadata(path, until="general.name").get("general.name", ""))


def _value(stream: BinaryIO, kind: int) -> object:
    if kind == STRING:
        return _string(stream)
    if kind == ARRAY:
        element, count = struct.unpack("<IQ", _exactly(stream, 12))
        if element in (STRING, ARRAY):
            for _ in range(count):
                _value(stream, element)
        else:
            stream.seek(struct.calcsize(SCALARS[element]) * count, 1)
        return ("array", count)
    fmt = SCALARS[kind]
    return struct.unpack(fmt, _exactly(stream, struct.calcsize(fmt)))[0]


def _string(stream: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _exactly(stream, 8))
    return _exactly(stream, length).decode("utf-8")


def _exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError(f"the file ends inside its header ({len(data)} of {size} bytes)")
    return data


def header(values: dict[str, object]) -> bytes:
    """A GGUF header (version 3, no tensors) holding string and integer `values`: for tests and examples.

    >>> header({})[:4], len(header({}))
    (b'GGUF', 24)
    """
    out = MAGIC + struct.pack("<IQQ", 3, 0, len(values))
    for key, value in values.items():
        out += _packed(key)
        out += struct.pack("<I", STRING) + _packed(value) if isinstance(value, str) else struct.pack("<Iq", 11, value)
    return out


def _packed(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data
