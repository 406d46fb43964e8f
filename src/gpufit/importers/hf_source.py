"""Reading one value of a Hugging Face `config.json`, checked: where a field may come from
(text_config, the top level, the config class's defaults), integers within bounds, flags,
strings and layer lists, each failure a `ModelImportError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpufit.importers.bounds import MAX_LAYERS, MAX_VALUE
from gpufit.importers.errors import ModelImportError

# The bounds are shared with the GGUF reader (importers/bounds.py); re-exported for hf_*.
__all__ = ["MAX_LAYERS", "MAX_VALUE", "ConfigSource", "describe"]


@dataclass(slots=True)
class ConfigSource:
    """Where a field may come from: text_config first, then the top level, then class defaults."""

    path: Path
    sections: tuple[tuple[str, Mapping[str, Any]], ...]
    defaults: Mapping[str, Any]
    defaults_label: str
    notes: list[str] = field(default_factory=list)

    @property
    def nested(self) -> bool:
        return len(self.sections) > 1

    def fail(self, problem: str) -> ModelImportError:
        return ModelImportError(self.path, problem)

    def find(self, names: Sequence[str], *, keep_null: bool = False) -> tuple[str, Any] | None:
        """(where, value) of the first of `names` the config gives; null counts as absent
        unless `keep_null` (a null sliding_window is a statement: no window)."""
        for prefix, section in self.sections:
            for name in names:
                if name in section and (keep_null or section[name] is not None):
                    return prefix + name, section[name]
        for name in names:
            if name in self.defaults:
                value = self.defaults[name]
                self.notes.append(f"{name} not given; using {value!r}, the {self.defaults_label} "
                                  "default that transformers applies.")
                return name, value
        return None

    def missing(self, names: Sequence[str]) -> ModelImportError:
        others = f" (or {' / '.join(names[1:])})" if len(names) > 1 else ""
        where = " in text_config or at the top level" if self.nested else ""
        return self.fail(f"config.json has no {names[0]}{others}{where}")

    def integer(self, names: Sequence[str], *, minimum: int = 1,
                maximum: int = MAX_VALUE) -> int | None:
        found = self.find(names)
        if found is None:
            return None
        return self.check_integer(found[0], found[1], minimum, maximum)

    def check_integer(self, where: str, value: Any, minimum: int = 1,
                      maximum: int = MAX_VALUE) -> int:
        # bool is an int subclass; a count written as true/false is a mistake, not a number.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"config.json {where} must be a whole number, got {describe(value)}")
        if value < minimum:
            bound = "positive" if minimum == 1 else f"at least {minimum}"
            raise self.fail(f"config.json {where} must be {bound}, got {value}")
        if value > maximum:
            raise self.fail(f"config.json {where} is implausibly large ({describe(value)})")
        return value

    def flag(self, names: Sequence[str]) -> bool | None:
        found = self.find(names)
        if found is None:
            return None
        where, value = found
        if not isinstance(value, bool):
            raise self.fail(f"config.json {where} must be true or false, got {describe(value)}")
        return value

    def text(self, names: Sequence[str]) -> tuple[str, str] | None:
        found = self.find(names)
        if found is None:
            return None
        where, value = found
        if not isinstance(value, str):
            raise self.fail(f"config.json {where} must be a string, got {describe(value)}")
        return where, value

    def integer_list(self, name: str, layers: int) -> list[int] | None:
        """A list of layer indices (mlp_only_layers, moe_layers), each within the model."""
        found = self.find((name,))
        if found is None:
            return None
        where, value = found
        if not isinstance(value, list):
            raise self.fail(f"config.json {where} must be a list of layer numbers, "
                            f"got {describe(value)}")
        return [self.check_integer(f"{where}[{position}]", item, 0, layers - 1)
                for position, item in enumerate(value)]


def describe(value: Any) -> str:
    """A short description of a bad value for an error message (never a huge nested repr)."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and value.bit_length() > 64:
        # repr of a huge int is slow and, past 4300 digits, raises ValueError.
        return "a number with more than 19 digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
