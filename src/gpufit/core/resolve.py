"""Find a catalog entry from what a person or nvidia-smi calls it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Protocol, TypeVar


class Named(Protocol):
    """Anything with an id, a display name and aliases."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


EntryT = TypeVar("EntryT", bound=Named)


class ResolveError(LookupError):
    """No entry, or more than one, answers to a name; `candidates` are the closest ids."""

    def __init__(self, kind: str, query: str, candidates: list[str], ambiguous: bool) -> None:
        self.kind = kind
        self.query = query
        self.candidates = candidates
        self.ambiguous = ambiguous
        problem = "is ambiguous" if ambiguous else "is not in the catalog"
        hint = f"; did you mean: {', '.join(candidates)}" if candidates else ""
        super().__init__(f"{kind} '{query}' {problem}{hint}")


def normalise(text: str) -> str:
    """Lowercase, drop vendor words and punctuation: 'NVIDIA A100-SXM4-80GB' → 'a100sxm480gb'."""
    lowered = text.casefold()
    lowered = re.sub(r"\b(nvidia|geforce|tesla|amd|radeon)\b", " ", lowered)
    return re.sub(r"[^a-z0-9.]", "", lowered).replace(".", "")


def _tokens(text: str) -> set[str]:
    return {token for token in re.split(r"[^a-z0-9.]+", text.casefold()) if token}


def resolve(entries: Mapping[str, EntryT], query: str, kind: str) -> EntryT:
    """By id, then name or alias (any case), then a unique normalised or partial match."""
    if query in entries:
        return entries[query]
    folded = query.casefold().strip()
    exact = [entry for entry in entries.values()
             if folded in {name.casefold() for name in (entry.id, entry.name, *entry.aliases)}]
    if len(exact) == 1:
        return exact[0]
    key = normalise(query)
    same = _unique([entry for entry in entries.values()
                    if key in {normalise(name) for name in (entry.id, entry.name, *entry.aliases)}])
    if len(same) == 1:
        return same[0]
    if not same and key:
        wanted = _tokens(query) - {"nvidia", "geforce", "tesla", "amd", "radeon"}
        partial = _unique([
            entry for entry in entries.values()
            if any(wanted <= _tokens(name) for name in (entry.id, entry.name, *entry.aliases))
        ])
        if len(partial) == 1:
            return partial[0]
        if partial:
            same = partial
    if same or len(exact) > 1:
        raise ResolveError(kind, query, sorted(entry.id for entry in (same or exact))[:8], True)
    raise ResolveError(kind, query, closest(entries, query), False)


def _unique(entries: list[EntryT]) -> list[EntryT]:
    seen: dict[str, EntryT] = {}
    for entry in entries:
        seen.setdefault(entry.id, entry)
    return list(seen.values())


def closest(entries: Mapping[str, Named], query: str, limit: int = 5) -> list[str]:
    """Ids whose names look most like `query`."""
    names: dict[str, str] = {}
    for entry in entries.values():
        for name in (entry.id, entry.name, *entry.aliases):
            names.setdefault(normalise(name), entry.id)
    matches = difflib.get_close_matches(normalise(query), list(names), n=limit * 3, cutoff=0.4)
    ordered: list[str] = []
    for match in matches:
        if names[match] not in ordered:
            ordered.append(names[match])
    return ordered[:limit]
