"""The model picker's search: words, fuzzy words and facets, typed in its filter box.

A query is words separated by spaces; a model is shown when every word holds:
- a facet: `moe` / `dense`; `local` (on this machine), `hub`, `file` (opened), `catalog`;
  a use: `chat`, `code`, `reasoning`, `vision`; a size bound on total parameters
  (`<10b`, `>30b`, `>=1.5b`, `<500m`); a context bound (`ctx>=128k`, `ctx<32k`);
- otherwise the word appears in the model's id, name, family, architecture or aliases, or its
  letters appear in that order in the name ("qwn3" finds Qwen3: typos and abbreviations).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SOURCES = ("local", "hub", "file", "catalog")
USES = ("chat", "code", "reasoning", "vision")
_BOUND = re.compile(r"^(ctx)?(<=|>=|<|>)(\d+(?:\.\d+)?)([kmbt]?)$")
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the search can ask about one model."""

    text: str
    """id, name, family, architecture and aliases, lowercased, space-joined."""
    compact_name: str
    """The name lowercased without spaces or punctuation, for fuzzy words."""
    params_total: int
    context_tokens: int
    is_moe: bool
    source: str
    """One of SOURCES."""
    uses: tuple[str, ...]


Predicate = Callable[[ModelFacts], bool]


def _bound(word: str) -> Predicate | None:
    found = _BOUND.match(word)
    if found is None:
        return None
    context, sign, number, scale = found.groups()
    if context is None and not scale:
        return None  # ">30" alone is ambiguous: ask for a unit (30b)
    limit = float(number) * _SCALE[scale]

    def holds(facts: ModelFacts) -> bool:
        value = facts.context_tokens if context else facts.params_total
        return {"<": value < limit, "<=": value <= limit, ">": value > limit,
                ">=": value >= limit}[sign]

    return holds


def _subsequence(word: str, text: str) -> bool:
    letters = iter(text)
    return all(letter in letters for letter in word)


def _word(word: str, fuzzy: bool) -> Predicate:
    if word in ("moe", "dense"):
        return lambda facts: facts.is_moe == (word == "moe")
    if word in SOURCES:
        return lambda facts: facts.source == word
    if word in USES:
        return lambda facts: word in facts.uses
    bound = _bound(word)
    if bound is not None:
        return bound
    squeezed = re.sub(r"[^a-z0-9]", "", word)
    if not fuzzy:
        return lambda facts: word in facts.text
    return lambda facts: word in facts.text or (
        len(squeezed) >= 3 and _subsequence(squeezed, facts.compact_name))


def compile_query(query: str, *, fuzzy: bool = False) -> Predicate:
    """The test a model's facts must pass to be shown for `query` (empty: everything).
    `fuzzy` also lets a word match as letters in order; the picker asks for it only when
    nothing matches exactly, so a fuzzy match never pushes an exact one down."""
    words = [_word(word, fuzzy) for word in query.casefold().split()]
    return lambda facts: all(word(facts) for word in words)


def compact(name: str) -> str:
    """`name` for fuzzy matching: lowercase letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.casefold())
