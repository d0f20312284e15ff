"""Arrow arrays to NumPy without pyarrow's pandas shim.

``pyarrow.Array.to_numpy`` (and ``np.asarray`` on an Arrow array) imports pandas when
it is installed, zero-copy or not: about 0.3 s of interpreter start-up that a quick
command on a 12-row file cannot afford, for conversions that need no pandas at all.
:func:`to_numpy` reads the buffers directly for the types the data layer converts
(booleans, integers, floats) and falls back to pyarrow for anything else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["integer_indices", "to_numpy"]

_NUMERIC = {
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "halffloat": np.float16,
    "float": np.float32,
    "double": np.float64,
}


def _bits(buf: Any, offset: int, n: int) -> np.ndarray:
    raw = np.frombuffer(buf, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset : offset + n].astype(bool)


def to_numpy(arr: Any, *, copy: bool = True) -> np.ndarray:
    """A NumPy copy of an Arrow array (chunked arrays are combined first).

    Booleans without nulls give ``bool``; integers without nulls their own dtype; floats
    their dtype with NaN for nulls; integers with nulls ``float64`` with NaN (pyarrow's
    own rule). Other types (and booleans with nulls) go through pyarrow. ``copy=False``:
    integers and floats without nulls come as a read-only view of the Arrow buffer.
    """
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    t = arr.type
    bufs = arr.buffers()
    valid = None if arr.null_count == 0 or bufs[0] is None else _bits(bufs[0], arr.offset, n)
    if pa.types.is_boolean(t) and valid is None:
        if n == 0:
            return np.zeros(0, dtype=bool)
        return _bits(bufs[1], arr.offset, n)
    dtype = _NUMERIC.get(str(t))
    if dtype is None:
        return np.asarray(arr.to_numpy(zero_copy_only=False))
    if n == 0:
        return np.zeros(0, dtype=dtype if valid is None else np.float64)
    values = np.frombuffer(bufs[1], dtype=dtype)[arr.offset : arr.offset + n]
    if valid is None:
        return values.copy() if copy else values
    out = values.astype(np.float64)
    out[~valid] = np.nan
    return out


def integer_indices(arr: Any, fill: int) -> np.ndarray:
    """An Arrow integer array (dictionary indices) as ``int64``, ``fill`` for its nulls:
    ``arr.fill_null(fill)`` without the Python scalar that makes pyarrow import pandas."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    bufs = arr.buffers()
    dtype = _NUMERIC[str(arr.type)]
    if n == 0 or bufs[1] is None:
        return np.full(n, fill, dtype=np.int64)
    out = np.frombuffer(bufs[1], dtype=dtype)[arr.offset : arr.offset + n].astype(np.int64)
    if arr.null_count and bufs[0] is not None:
        out[~_bits(bufs[0], arr.offset, n)] = fill
    return out
