"""Outside text and numbers checked against the store's columns: one rule for every door (CLI, API, web, import).

The limits come from one place, the table definitions (:mod:`arrears.adapters.tables`): a ``String(n)`` column
keeps at most ``n`` characters, an ``Integer`` column a 32-bit signed number, a ``BigInteger`` a 64-bit one, and a
``Text`` column what its ``info["max_length"]`` says (free text without one: :data:`FREE_TEXT_MAX`). Nothing here
echoes the refused value: a message names the field, what is wrong and the fix, never a name or a phone number.

Two layers use them:

* each door checks the fields it takes (:func:`check_text`, and pydantic's ``max_length`` from :func:`max_length`
  in the API's models), so the message names the option or field the caller wrote;
* :func:`guard_engine` checks every single-row statement's parameters against their column types before the
  database sees them, so a field a door forgot is still refused (exit 2, 422) instead of reaching PostgreSQL as a
  ``DataError`` or SQLite's driver as an ``OverflowError``. Bulk statements (``executemany``: the day-end's millions
  of rows) are not checked there: what they write was computed, not typed.
"""

from __future__ import annotations

import re
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, Column, Engine, Integer, SmallInteger, String, event
from sqlalchemy.types import TypeEngine

from arrears.errors import InputRejected

FREE_TEXT_MAX: Final = 2000
"""The longest free text a person types (a note, a reason, a claim, a summary): the API's bound since issue 9."""

_CONTROL: Final = r"\x00-\x1f\x7f"
_CONTROL_BUT_LINES: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # keeps tab, line feed and carriage return
PRINTABLE: Final = rf"^[^{_CONTROL}]+$"
"""One-line text: no control characters (PostgreSQL refuses NUL; ESC and BEL drive terminals and mangle logs)."""
TEXT: Final = rf"^[^{_CONTROL_BUT_LINES}]*$"
"""Free text: lines and tabs allowed, no other control characters."""

_ONE_LINE_BAD: Final = re.compile(f"[{_CONTROL}]")  # the same classes as the API's patterns: one rule
_FREE_TEXT_BAD: Final = re.compile(f"[{_CONTROL_BUT_LINES}]")
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


def integer_range(kind: TypeEngine[Any]) -> tuple[int, int] | None:
    """The whole numbers a column of this type stores on every database we support (None: not an integer)."""
    for integer, bits in ((SmallInteger, 16), (BigInteger, 64), (Integer, 32)):  # subclasses before Integer
        if isinstance(kind, integer):
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return None


ID_MAX: Final = (integer_range(Integer()) or (0, 0))[1]
"""The largest id the store holds (ids are ``Integer`` columns): 2,147,483,647."""


def max_length(column: Column[Any]) -> int:
    """The most characters ``column`` keeps: ``String(n)``'s n, else ``info["max_length"]``, else free text's."""
    length = getattr(column.type, "length", None)
    if isinstance(length, int):
        return length
    declared = column.info.get("max_length")
    return int(declared) if declared is not None else FREE_TEXT_MAX


def text_problem(value: str, *, limit: int, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` as text of at most ``limit`` characters, or None: invalid UTF-8 (a command
    line's bytes that did not decode), a control character, or too long. Never quotes the value."""
    if _SURROGATE.search(value):
        return "is not valid UTF-8 text; send it in UTF-8"
    bad = (_FREE_TEXT_BAD if multiline else _ONE_LINE_BAD).search(value)
    if bad:
        return f"holds a control character (U+{ord(bad.group()):04X}); remove it"
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are kept, shorten it"
    return None


def check_text(
    value: str,
    *,
    field: str,
    column: Column[Any] | None = None,
    limit: int | None = None,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """``value`` if it is clean text that fits ``column`` (or ``limit``); :class:`InputRejected` naming ``field``
    otherwise. ``multiline`` allows line breaks and tabs (free text); ``required`` refuses blank text."""
    bound = limit if limit is not None else (max_length(column) if column is not None else FREE_TEXT_MAX)
    problem = text_problem(value, limit=bound, multiline=multiline)
    if problem is None and required and not value.strip():
        problem = "is empty; give a value"
    if problem is not None:
        raise InputRejected(f"{field} {problem}")
    return value


ARGUMENT_MAX: Final = 4096
"""The longest command-line argument taken: free text's bound, or a path's (Linux's PATH_MAX)."""


def check_arguments(argv: list[str]) -> None:
    """Every command-line argument is UTF-8 (Python hands undecodable bytes over as surrogates), holds no control
    character but line breaks and tabs (free text may hold them; one-line fields refuse them where they are read),
    and has at most :data:`ARGUMENT_MAX` characters. :class:`InputRejected` naming the option otherwise."""
    for position, value in enumerate(argv):
        problem = text_problem(value, limit=ARGUMENT_MAX, multiline=True)
        if problem is not None:
            before = argv[position - 1] if position else ""
            if value.startswith("-") and "=" in value:  # --name=value
                before = value
            name = before.partition("=")[0] if before.startswith("-") else f"argument {position + 1}"
            raise InputRejected(f"{name} {problem}")


def _value_problem(bounds: tuple[int, int] | None, length: int | None, value: object) -> str | None:
    """What is wrong with ``value`` for a column of integer ``bounds`` or of text (``length``: its limit, -1 for
    none), or None. Integers and text only: dates, booleans and None pass."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            return f"is outside the stored range {bounds[0]:,}..{bounds[1]:,}"
        return None
    if isinstance(value, str) and length is not None:
        if _SURROGATE.search(value):
            return "is not valid UTF-8 text; send it in UTF-8"
        if "\x00" in value:
            return "holds a NUL character; remove it"
        if 0 <= length < len(value):
            return f"is {len(value):,} characters long; at most {length:,} are kept, shorten it"
    return None


_Checks = tuple[tuple[str, tuple[int, int] | None, int | None], ...]
_CHECKS: WeakKeyDictionary[Any, _Checks] = WeakKeyDictionary()


def _checks_of(compiled: Any) -> _Checks:
    """The parameters of a compiled statement worth checking, with their bounds, worked out once per compiled
    statement (SQLAlchemy caches those): the per-execution cost is a loop over the integer and text ones."""
    checks = _CHECKS.get(compiled)
    if checks is None:
        found = []
        for key, bind in compiled.binds.items():
            bounds = integer_range(bind.type)
            length = None
            if isinstance(bind.type, String):
                length = -1 if bind.type.length is None else bind.type.length
            if bounds is not None or length is not None:
                found.append((key, bounds, length))
        checks = _CHECKS[compiled] = tuple(found)
    return checks


def guard_engine(engine: Engine) -> None:
    """Refuse, before the database sees it, a single-row statement whose parameter does not fit its column's type
    (module docstring): :class:`InputRejected` naming the parameter, never its value."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, executemany: bool) -> None:
        compiled = getattr(context, "compiled", None)
        if executemany or compiled is None or not context.compiled_parameters:
            return
        values = context.compiled_parameters[0]
        for key, bounds, length in _checks_of(compiled):
            problem = _value_problem(bounds, length, values.get(key))
            if problem is not None:
                raise InputRejected(f"{key.rsplit('_', 1)[0] if key[-1].isdigit() else key} {problem}")
