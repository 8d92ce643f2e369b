"""Parameter declarations: what an inspector needs to build an editor and what a loader needs to check.

Each layer declares its parameters once. ``Param.parse`` accepts what a person or a JSON file gives
(numbers, strings typed into a line edit such as "3, 3", lists) and returns the canonical value
(ints, floats, bools, strings, tuples of ints), or raises :class:`ParamError` saying what is accepted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ParamError

KINDS = ("int", "float", "bool", "choice", "ints", "str")


@dataclass(frozen=True)
class Param:
    """One constructor parameter of a layer.

    kind: "int", "float", "bool", "choice", "ints" (tuple of ints) or "str".
    minimum / maximum: inclusive bounds (for "ints": bounds of every element).
    choices: allowed strings for "choice".
    length: for "ints", the tuple length (a single int is repeated to it); None means any length >= 1.
    words: for "ints", strings accepted instead of numbers (e.g. "same" / "valid" padding).
    optional: None is accepted (shown as an empty field), e.g. Embedding's padding_idx.
    special: what the minimum means when it stands for something else (T_max 0: "the whole run"),
        shown beside the field whenever it holds that value.
    """

    name: str
    kind: str
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    length: int | None = None
    words: tuple[str, ...] = ()
    optional: bool = False
    label: str = field(default="")
    special: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}; use one of {KINDS}")
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))

    def parse(self, value: Any) -> Any:
        """The canonical value of ``value`` for this parameter, or ParamError."""
        if value is None or (self.optional and isinstance(value, str) and value.strip() in ("", "None")):
            if self.optional:
                return None
            raise ParamError(self.name, f"a value is required ({self.describe()})")
        parser = getattr(self, f"_parse_{self.kind}")
        return parser(value)

    def describe(self) -> str:
        """A short human description of the accepted values, for tooltips and error messages."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "ints":
            size = f"{self.length} integers" if self.length else "integers"
            text = f"{size} separated by commas" + (" (or one integer)" if self.length else "")
            if self.words:
                text += " or " + " / ".join(repr(w) for w in self.words)
        else:
            text = {"int": "an integer", "float": "a number", "bool": "true or false",
                    "str": "text"}[self.kind]
        bounds = self._bounds_text()
        if bounds:
            text += f" {bounds}"
        if self.optional:
            text += ", or empty for none"
        return text

    def format(self, value: Any) -> str:
        """The text an editor shows for a canonical value: "3, 3", "same", "" for None, "true"."""
        if value is None:
            return ""
        if isinstance(value, tuple):
            return ", ".join(str(item) for item in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def to_json(self, value: Any) -> Any:
        """The JSON form of a canonical value (tuples become lists)."""
        return list(value) if isinstance(value, tuple) else value

    # -- per kind --------------------------------------------------------------------------------

    def _bounds_text(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"between {_num(self.minimum)} and {_num(self.maximum)}"
        if self.minimum is not None:
            return f">= {_num(self.minimum)}"
        if self.maximum is not None:
            return f"<= {_num(self.maximum)}"
        return ""

    def _check_bounds(self, number: float, what: str = "value") -> None:
        too_small = self.minimum is not None and number < self.minimum
        too_big = self.maximum is not None and number > self.maximum
        if too_small or too_big:
            raise ParamError(self.name, f"{what} {_num(number)} is out of range; use {self._bounds_text()}")

    def _parse_int(self, value: Any) -> int:
        number = _to_int(value)
        if number is None:
            raise ParamError(self.name, f"{value!r} is not an integer; use {self.describe()}")
        self._check_bounds(number)
        return number

    def _parse_float(self, value: Any) -> float:
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ParamError(self.name, f"{value!r} is not a number; use {self.describe()}") from None
        if not math.isfinite(number):
            raise ParamError(self.name, f"{value!r} is not a finite number")
        self._check_bounds(number)
        return number

    def _parse_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ParamError(self.name, f"{value!r} is not true or false")

    def _parse_choice(self, value: Any) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        raise ParamError(self.name, f"{value!r} is not allowed; use {self.describe()}")

    def _parse_str(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ParamError(self.name, f"{value!r} is not text")
        return value

    def _parse_ints(self, value: Any) -> tuple[int, ...] | str:
        if isinstance(value, str):
            text = value.strip()
            if text in self.words:
                return text
            text = text.strip("()[] ")
            items: list[Any] = [part for part in text.replace("x", ",").split(",") if part.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        numbers = [_to_int(item) for item in items]
        if not numbers or any(n is None for n in numbers):
            raise ParamError(self.name, f"{value!r} is not valid; use {self.describe()}")
        if self.length is not None:
            if len(numbers) == 1:
                numbers = numbers * self.length
            elif len(numbers) != self.length:
                raise ParamError(self.name, f"{value!r} has {len(numbers)} values; use {self.describe()}")
        for number in numbers:
            self._check_bounds(number, "element")
        return tuple(numbers)


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _num(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)
