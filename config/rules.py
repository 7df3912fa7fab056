"""The kinds of value a station.toml key may hold, and the reading of a table against a dataclass.

A section is a frozen dataclass; each of its fields that the file sets is declared with `key()`:
the kind of value (a rule below, carrying its range or allowed values and the reason a wrong
value is refused), the default (none: the key is required), and the few relations a key has with
others (unique among the entries of an array, naming an entry of an earlier section, a check
against the keys read before it). `Table` reads any such dataclass; nothing else is hand-written
per key. Every refusal is `Refused(key, reason)`; the loader puts the file's path before it.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, field, fields
from typing import Any, Callable


class Refused(ValueError):
    """A value the schema refuses: `key` (e.g. "windows[2].services") and the reason."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


def key(rule: Rule, default: Any = MISSING, *, unique: str | None = None, refers: tuple[str, str] | None = None,
        given_if: tuple[Callable[[dict], bool], str] | None = None, also: Callable[[Any, str, dict], None] | None = None):
    """A field read from the file. `unique`: the reason when an earlier entry of the same array
    has the value ("{}" is the value); `refers`: (section, reason) when the value is no key of
    that section, read before; `given_if`: (test, reason) when the key may be given only if
    test(the keys read before it in the same table); `also(value, key, record)`: a check against
    those keys, run only on a value the file gives."""
    return field(default=default, metadata={"rule": rule, "unique": unique, "refers": refers, "given_if": given_if,
                                            "also": also})


class Rule:
    """One kind of value; `read` checks and converts what TOML gave, `write` turns it back."""

    missing = "missing"

    def names(self, name: str) -> tuple[str, ...]:
        """The keys of the file this field is read from (more than one: two spellings)."""
        return (name,)

    def take(self, table: dict, name: str, prefix: str, default: Any, record: dict, seen: dict) -> Any:
        if name not in table:
            if default is MISSING:
                raise Refused(prefix + name, self.missing)
            return default
        return self.read(table[name], prefix + name, record, seen)

    def read(self, value: Any, key: str, record: dict, seen: dict) -> Any:
        raise NotImplementedError

    def put(self, table: dict, name: str, value: Any) -> None:
        if value is not None:
            table[name] = self.write(value)

    def write(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value


class Whole(Rule):
    def __init__(self, low: int, high: int):
        self.low, self.high = low, high

    def read(self, value, key, record, seen) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Refused(key, "must be a whole number")
        if not self.low <= value <= self.high:
            raise Refused(key, f"{value} is out of range ({self.low} to {self.high})")
        return value


class Number(Rule):
    """A number (whole or not) above `low` and at most `high`; one reason for every wrong value."""

    def __init__(self, low: float, high: float, reason: str):
        self.low, self.high, self.missing = low, high, reason

    def read(self, value, key, record, seen) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low < value <= self.high:
            raise Refused(key, self.missing)
        return float(value)


class Flag(Rule):
    def read(self, value, key, record, seen) -> bool:
        if not isinstance(value, bool):
            raise Refused(key, "must be true or false")
        return value


class Text(Rule):
    """A non-empty string, matching `pattern` when one is given; `form`: the reason when it does
    not ("{}" is the value), else the pattern itself is shown."""

    def __init__(self, pattern: str | None = None, form: str | None = None):
        self.pattern, self.form = pattern, form

    def read(self, value, key, record, seen) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Refused(key, "must be a non-empty string")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise Refused(key, self.form.format(value) if self.form else
                          f"{value!r} is not in the expected form ({self.pattern})")
        return value


class AnyText(Rule):
    """A string that may be empty (a font file's path: empty leaves the choice to Cabin)."""

    def __init__(self, reason: str):
        self.reason = reason

    def read(self, value, key, record, seen) -> str:
        if not isinstance(value, str):
            raise Refused(key, self.reason)
        return value


class Texts(Rule):
    """A list of non-empty strings, as a tuple."""

    def __init__(self, reason: str):
        self.reason = reason

    def read(self, value, key, record, seen) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise Refused(key, self.reason)
        return tuple(value)


class Labels(Rule):
    """A table of codes, each with the text people read: `{ wait = "等候时间长", ... }`, as
    ((code, text), ...) in the file's order; at least one; codes matching `pattern`."""

    def __init__(self, pattern: str, reason: str):
        self.pattern, self.reason = pattern, reason

    def read(self, value, key, record, seen) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not value:
            raise Refused(key, self.reason)
        for code, text in value.items():
            if not re.fullmatch(self.pattern, code):
                raise Refused(f"{key}.{code}", f"{code!r} is not in the expected form ({self.pattern})")
            if not isinstance(text, str) or not text.strip():
                raise Refused(f"{key}.{code}", "must be a non-empty string")
        return tuple(value.items())

    def write(self, value) -> dict[str, str]:
        return dict(value)


class Choice(Rule):
    def __init__(self, values: tuple[str, ...]):
        self.values = values

    def read(self, value, key, record, seen) -> str:
        if value not in self.values:
            allowed = " or ".join(f'"{v}"' for v in self.values)
            raise Refused(key, f"must be {allowed}, not {value!r}")
        return value


class Table(Rule):
    """A TOML table read into the dataclass `cls`; `defaults` replace the dataclass's own (a
    device's speed depends on what it is); `optional`: left out, it is read as an empty table
    (every default). Unknown keys are refused: a typo must not silently fall back to a default."""

    def __init__(self, cls: type, optional: bool = False, **defaults: Any):
        self.cls, self.optional, self.defaults = cls, optional, defaults

    def take(self, table, name, prefix, default, record, seen) -> Any:
        if self.optional and name not in table:
            return self.read({}, prefix + name, record, seen)
        return super().take(table, name, prefix, default, record, seen)

    def fields(self):
        return [f for f in fields(self.cls) if "rule" in f.metadata]

    def read(self, value, key, record, seen, earlier: tuple = ()) -> Any:
        if not isinstance(value, dict):
            raise Refused(key, "must be a table")
        declared = self.fields()
        allowed = {name for f in declared for name in f.metadata["rule"].names(f.name)}
        for name in value:
            if name not in allowed:
                raise Refused(f"{key or '(top level)'}.{name}",
                              f"unknown key (expected one of {', '.join(sorted(allowed))})")
        prefix = f"{key}." if key else ""
        values: dict[str, Any] = {}
        seen = values if seen is None else seen  # the sections read so far, for `refers`
        for f in declared:
            meta, where = f.metadata, prefix + f.name
            if meta["given_if"] and f.name in value and not meta["given_if"][0](values):
                raise Refused(where, meta["given_if"][1])
            got = meta["rule"].take(value, f.name, prefix, self._default(f), values, seen)
            if meta["unique"] and any(getattr(e, f.name) == got for e in earlier):
                raise Refused(where, meta["unique"].format(got))
            if meta["refers"] and got not in seen[meta["refers"][0]]:
                raise Refused(where, meta["refers"][1].format(got))
            if meta["also"] and f.name in value:
                meta["also"](got, where, values)
            values[f.name] = got
        return self.cls(**values)

    def _default(self, f) -> Any:
        if f.name in self.defaults:
            return self.defaults[f.name]
        if f.default_factory is not MISSING:
            return f.default_factory()
        return f.default

    def write(self, value) -> dict:
        """The table that reads back as `value`: a value equal to its default is left out."""
        table: dict[str, Any] = {}
        for f in self.fields():
            if getattr(value, f.name) != self._default(f):
                f.metadata["rule"].put(table, f.name, getattr(value, f.name))
        return table


class Records(Rule):
    """An array of tables ([[name]]), each read as `cls`, kept by `by` (a field of unique values).
    `needed`: (value of `by`, reason) for an entry the station cannot do without."""

    missing = "missing (at least one entry is needed)"

    def __init__(self, cls: type, by: str, needed: tuple[str, str] | None = None):
        self.table, self.by, self.needed = Table(cls), by, needed

    def read(self, value, key, record, seen) -> dict:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise Refused(key, f"must be an array of tables ([[{key}]])")
        if not value:
            raise Refused(key, "is empty (at least one entry is needed)")
        result: dict = {}
        for i, entry in enumerate(value):
            read = self.table.read(entry, f"{key}[{i}]", record, seen, earlier=tuple(result.values()))
            result[getattr(read, self.by)] = read
        if self.needed and self.needed[0] not in result:
            raise Refused(key, self.needed[1])
        return result

    def write(self, value: dict) -> list[dict]:
        return [self.table.write(entry) for entry in value.values()]


class UrlOrTable(Table):
    """A device: its URL alone (`reader = "/dev/ttyUSB0"`), or a table of the URL and more
    (`{url = "...", baud = 9600}`)."""

    def __init__(self, cls: type, reason: str, **defaults: Any):
        super().__init__(cls, **defaults)
        self.reason = reason

    def read(self, value, key, record, seen, earlier: tuple = ()) -> Any:
        if isinstance(value, str):
            value = {"url": value}
        if not isinstance(value, dict):
            raise Refused(key, self.reason)
        return super().read(value, key, record, seen)


class Amounts(Rule):
    """Fees: `fee = 120` (the key `single`) for one, or `fees = { "single" = 15, "double" = 30 }`
    for options, as ((option, amount), ...) with the option "" for one fee; neither: none fixed."""

    def __init__(self, single: str, amount: Whole, reason: str):
        self.single, self.amount, self.reason = single, amount, reason

    def names(self, name: str) -> tuple[str, ...]:
        return (self.single, name)

    def take(self, table, name, prefix, default, record, seen) -> tuple[tuple[str, int], ...]:
        if self.single in table and name in table:
            raise Refused(prefix + name, f"give either {self.single} or {name}, not both")
        if self.single in table:
            return (("", self.amount.read(table[self.single], prefix + self.single, record, seen)),)
        options = table.get(name, {})
        if not isinstance(options, dict):
            raise Refused(prefix + name, self.reason)
        return tuple((option, self.amount.read(amount, f"{prefix}{name}.{option}", record, seen))
                     for option, amount in options.items())

    def put(self, table, name, value) -> None:
        if len(value) == 1 and value[0][0] == "":
            table[self.single] = value[0][1]
        elif value:
            table[name] = dict(value)


SPAN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


class Week(Rule):
    """Opening hours: a table of weekdays, each a list of "HH:MM-HH:MM" spans in order, read as
    {day: ((start_min, end_min), ...)} for every day (none given: closed)."""

    def __init__(self, days: tuple[str, ...]):
        self.days = days

    def read(self, value, key, record, seen) -> dict[str, tuple[tuple[int, int], ...]]:
        if not isinstance(value, dict):
            raise Refused(key, "must be a table")
        for day in value:
            if day not in self.days:
                raise Refused(f"{key}.{day}", f"unknown key (expected one of {', '.join(sorted(self.days))})")
        return {day: self.spans(value.get(day, []), f"{key}.{day}") for day in self.days}

    @staticmethod
    def spans(spans, key: str) -> tuple[tuple[int, int], ...]:
        if not isinstance(spans, list):
            raise Refused(key, 'must be a list like ["08:30-12:00"]')
        parsed: list[tuple[int, int]] = []
        for i, span in enumerate(spans):
            m = SPAN.fullmatch(span) if isinstance(span, str) else None
            if not m:
                raise Refused(f"{key}[{i}]", f'{span!r} is not a span like "08:30-12:00"')
            start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
            if end <= start or end > 24 * 60:
                raise Refused(f"{key}[{i}]", f"{span!r} ends before it starts")
            if parsed and start < parsed[-1][1]:
                raise Refused(f"{key}[{i}]", f"{span!r} overlaps or precedes the span before it")
            parsed.append((start, end))
        return tuple(parsed)

    def write(self, value) -> dict[str, list[str]]:
        return {day: [f"{s // 60:02}:{s % 60:02}-{e // 60:02}:{e % 60:02}" for s, e in spans]
                for day, spans in value.items()}
