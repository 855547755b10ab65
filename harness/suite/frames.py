"""The frames the case worker and its parent exchange: an 8-byte big-endian length, then a
pickle (harness/suite/worker.py describes the messages)."""

from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO

_HEADER = struct.Struct(">Q")
# The reply the worker sends once a request's case file is imported, before the real reply.
STARTED = "started"
# Where a check is (harness.judge.progress), sent while it runs; never the reply itself.
PROGRESS = "progress"


def write_frame(stream: BinaryIO, message: Any) -> None:
    """Send one message (pickled, length-prefixed) and flush.

    Args:
      stream: a binary stream.
      message: any picklable object.
    """
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """Receive one message sent by `write_frame`.

    Args:
      stream: a binary stream.

    Returns:
      The message.

    Raises:
      EOFError: the other side closed the stream (mid-frame included).
    """
    header = _read_exactly(stream, _HEADER.size)
    return pickle.loads(_read_exactly(stream, _HEADER.unpack(header)[0]))


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
