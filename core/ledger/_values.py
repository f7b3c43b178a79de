"""Exact JSON for the values a ledger holds: money as decimal strings, never floats or pickle.

JSON has no tuple, Decimal, bytes, set or non-string key, and a task's data
may hold any of them. Plain JSON values stay as they are; the others become
a one-key object whose key starts with ``$`` (``{"$dec": "0.10"}``). A
caller's own mapping of exactly one ``$`` key is escaped the same way, so
decoding is never ambiguous. Lists decode as tuples and objects as
`core.frozen.FrozenDict`: the frozen forms the core keeps, so
``decode_value(encode_value(v)) == v`` for every frozen value the core holds.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from typing import Any

from core.errors import JournalFormatError, UnjournalableValueError
from core.frozen import FrozenDict

__all__ = [
    "decode_value",
    "dumps",
    "encode_columns",
    "encode_rows",
    "encode_value",
    "is_tag_shaped",
    "list_text",
    "loads",
    "plain_items",
    "scalar_text",
]

_PLAIN = (str, int, type(None), bool)
# json.dumps with options builds an encoder per call (about 2 µs): one, made once.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
# ASCII characters JSON writes escaped, besides the quote: controls, DEL and the backslash.
_ESCAPED = bytes([*range(0x20), 0x7F, ord("\\")])
_str_text = json.encoder.encode_basestring_ascii  # what _encode writes a str with
# Longest repeated column whose text is kept (the cache holds at most 256 such texts).
_REPEATS_KEPT = 1024
# Deeper values are refused rather than risk Python's recursion limit.
_MAX_DEPTH = 200


def plain_items(items: Sequence[Any]) -> bool:
    """True when every item is a str (or str subclass), int, bool, None or finite float.

    Checked at C speed over the distinct types, so a column of a batch encodes
    without a Python call per item (JSON writes a str subclass as its text).
    """
    kinds = set(map(type, items))
    for kind in kinds:
        if kind is float:
            # A column of floats alone (times) is checked in one C-level pass.
            floats = items if len(kinds) == 1 else filter(_is_float, items)
            if not all(map(math.isfinite, floats)):
                return False
        elif kind not in _PLAIN and not issubclass(kind, str):
            return False
    return True


def _is_float(item: Any) -> bool:
    return type(item) is float


def is_tag_shaped(mapping: Mapping[str, Any]) -> bool:
    """True for a mapping of exactly one key starting with ``$``: read back, it is a tag. O(1).

    `encode_value` escapes such a mapping of the caller's (``{"$map": ...}``),
    so that decoding is never ambiguous.
    """
    return len(mapping) == 1 and next(iter(mapping)).startswith("$")


def encode_value(value: Any, field: str = "value", depth: int = 0) -> Any:
    """Return ``value`` as plain JSON data (tags for what JSON lacks).

    Raises:
        UnjournalableValueError: a value JSON cannot carry exactly (an arbitrary
            object, a too deep nesting), naming ``field``.
    """
    kind = type(value)
    if kind in _PLAIN or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if depth > _MAX_DEPTH:
        raise UnjournalableValueError(
            f"{field} is nested deeper than {_MAX_DEPTH} levels", field=field, value=None
        )
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (tuple, list)):
        if plain_items(value):
            return list(value)
        return [encode_value(item, field, depth + 1) for item in value]
    if isinstance(value, Mapping):
        if all(type(key) is str for key in value) and not is_tag_shaped(value):
            return {key: encode_value(item, field, depth + 1) for key, item in value.items()}
        return {
            "$map": [
                [encode_value(key, field, depth + 1), encode_value(item, field, depth + 1)]
                for key, item in value.items()
            ]
        }
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode_value(item, field, depth + 1) for item in value]}
    if isinstance(value, str):  # a str subclass, e.g. a status enum member: its text
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    raise UnjournalableValueError(
        f"{field} holds a {kind.__name__}, which a journal cannot record "
        "(allowed: JSON values, Decimal, bytes, tuples, sets and mappings of them)",
        field=field,
        value=value,
    )


def encode_rows(rows: tuple[tuple[Any, ...], ...], field: str = "value", depth: int = 0) -> Any:
    """`encode_value` of a tuple of equally long tuples, worked out column by column. O(cells).

    The JSON text of the result is exactly that of ``encode_value(rows, field,
    depth)``; what changes is the cost: a column of plain values (most of a
    job's: ids, names, statuses, timestamps) is checked in one C-level pass
    instead of a Python call per row, and only the other columns are encoded
    value by value.

    Raises:
        UnjournalableValueError: as `encode_value`.
    """
    if not rows or not rows[0] or depth + 1 > _MAX_DEPTH or len(set(map(len, rows))) > 1:
        return encode_value(rows, field, depth)
    return encode_columns(list(zip(*rows, strict=True)), field, depth)


def encode_columns(
    columns: Sequence[Sequence[Any]], field: str = "value", depth: int = 0
) -> list[Any]:
    """`encode_rows` of the rows whose fields are ``columns`` (equally long, at least one).

    A snapshot encodes every task of every open job this way, straight from
    the job's columns. O(cells).

    Raises:
        UnjournalableValueError: as `encode_value`.
    """
    if not columns[0]:
        return []
    plain = list(map(plain_items, columns))
    encoded = [
        column if is_plain else [encode_value(item, field, depth + 2) for item in column]
        for column, is_plain in zip(columns, plain, strict=True)
    ]
    # JSON writes a tuple as an array: rows of plain values are their own encoding.
    rows = zip(*encoded, strict=True)
    return list(rows) if all(plain) else list(map(list, rows))


def _tagged(tag: str, body: Any) -> Any:
    if tag == "$dec":
        return Decimal(body)
    if tag == "$float":
        return float(body)
    if tag == "$bytes":
        return base64.b64decode(body)
    if tag == "$set":
        return frozenset(decode_value(item) for item in body)
    if tag == "$map":
        return FrozenDict({decode_value(key): decode_value(item) for key, item in body})
    raise JournalFormatError(f"unknown value tag {tag!r}", field="tag", value=tag)


def decode_value(data: Any) -> Any:
    """Inverse of `encode_value`: lists become tuples, objects `FrozenDict`s.

    Raises:
        JournalFormatError: an unknown tag.
    """
    kind = type(data)
    if kind is list:
        return tuple(decode_value(item) for item in data)
    if kind is dict:
        if len(data) == 1:
            ((key, body),) = data.items()
            if key.startswith("$"):
                return _tagged(key, body)
        return FrozenDict({key: decode_value(item) for key, item in data.items()})
    return data


def dumps(data: Any) -> str:
    """Return plain JSON data as compact, deterministic text (keys in their given order)."""
    return _encode(data)


def scalar_text(value: Any) -> str:
    """Return ``dumps(value)``, an exact str or finite float without the encoder. O(len).

    These are the very functions the encoder calls for them (ASCII escaping,
    the float's repr); going to them directly skips its set-up per call.
    """
    kind = type(value)
    if kind is str:
        return _str_text(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return dumps(value)


def list_text(items: Sequence[Any]) -> str:
    """Return ``dumps(list(items))`` of plain JSON values: the same text, built cheaper. O(n).

    The json encoder costs about 50 ns an item even in C. A batch's columns are
    mostly one value repeated (a status, None) or short strings that need no
    escaping (task ids), whose text is joined in one C call; any other list is
    left to `dumps`.
    """
    count = len(items)
    if not count:
        return "[]"
    first = items[0]
    # Among plain JSON values only None equals None, and only a str (a str
    # subclass included, which JSON writes as its characters) equals a str.
    if (first is None or isinstance(first, str)) and items.count(first) == count:
        # Keyed by the exact str (a subclass's own __eq__ or __hash__ never decides).
        item = None if first is None else str.__str__(first)
        return (_kept_repeated_text if count <= _REPEATS_KEPT else _repeated_text)(item, count)
    try:
        body = '","'.join(items)
    except TypeError:  # not all strs
        return dumps(items)
    if body.isascii():
        raw = body.encode("ascii")
        # No character JSON escapes but the separators' quotes: each item is its own text.
        if raw.count(b'"') == 2 * (count - 1) and len(raw.translate(None, _ESCAPED)) == len(raw):
            return '["' + body + '"]'
    return dumps(items)


def _repeated_text(item: str | None, count: int) -> str:
    """Return ``dumps([item] * count)`` of an exact str or None. O(count)."""
    return "[" + ",".join(repeat(dumps(item), count)) + "]"


# A batch's columns repeat a few values at a few sizes: their texts are kept.
# The key is an exact str or None, so equal keys always write equal text.
_kept_repeated_text = lru_cache(maxsize=256)(_repeated_text)


def loads(text: str) -> Any:
    """Parse JSON text.

    Raises:
        JournalFormatError: the text is not JSON.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise JournalFormatError(
            f"journal text is not valid JSON: {err}", field="text", value=text[:80]
        ) from err
