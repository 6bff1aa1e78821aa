"""Is an MP4 file whole? Its top-level boxes must account for every byte and include a ``moov``
(the index) and an ``mdat`` (the data).

A download cut short, or a proxy's HTML page served with 200, fails this check, whereas looking at
the first bytes alone would pass a video cut in half. Reading only the box headers keeps it cheap:
a few reads per file, whatever its size.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

MAX_BOXES = 10_000


def verify_mp4(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with the MP4 file at ``path`` (in words), or None when it is complete."""
    try:
        with open(path, "rb") as file:
            return mp4_problem(file, os.fstat(file.fileno()).st_size)
    except OSError as exc:
        return f"cannot read {os.fspath(path)}: {exc.strerror or exc}"


def mp4_problem(file: BinaryIO, size: int) -> str | None:
    """Walk the top-level boxes of an open file of ``size`` bytes; see :func:`verify_mp4`."""
    if size == 0:
        return "the file is empty"
    offset = 0
    types: list[bytes] = []
    while offset < size:
        if len(types) >= MAX_BOXES:
            return f"more than {MAX_BOXES} top-level boxes: not a video file"
        file.seek(offset)
        header = file.read(16)
        if len(header) < 8:
            if not types:
                return f"not an MP4 (only {size} bytes: {header!r})"
            return f"cut inside a box header at byte {offset} of {size}"
        length, kind = struct.unpack(">I4s", header[:8])
        if not types and kind != b"ftyp":
            return f"not an MP4 (it starts with {header[:12]!r})"
        if not _is_box_type(kind):
            return f"garbage at byte {offset} of {size} (box type {kind!r})"
        header_size = 8
        if length == 1:
            if len(header) < 16:
                return f"cut inside the {_name(kind)} box header at byte {offset} of {size}"
            (length,) = struct.unpack(">Q", header[8:16])
            header_size = 16
        elif length == 0:
            length = size - offset
        if length < header_size:
            return f"the {_name(kind)} box at byte {offset} has an impossible size {length}"
        if offset + length > size:
            return (
                f"cut short: the {_name(kind)} box at byte {offset} needs {length} bytes but "
                f"only {size - offset} remain (the file has {size} bytes)"
            )
        types.append(kind)
        offset += length
    if b"moov" not in types:
        return "no moov box (the video's index is missing: the file is incomplete)"
    if b"mdat" not in types:
        # A file cut exactly after its moov box (moov first, as in faststart files) ends here.
        return "no mdat box (the video's data is missing: the file is incomplete)"
    return None


def _is_box_type(kind: bytes) -> bool:
    return all(0x20 <= byte <= 0x7E or byte == 0xA9 for byte in kind)


def _name(kind: bytes) -> str:
    return repr(kind.decode("latin-1"))
