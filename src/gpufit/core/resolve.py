"""Find a catalog entry from what a person, nvidia-smi, rocm-smi or system_profiler calls it.

Owns name resolution for `--gpu`, `--model` and `--quant`, and the name keys the detector's
matcher shares: `normalise` (spelling-blind) and `base_key` (also blind to a memory size such
as "48 GB", so "M3 Max 48GB" and "48 GB M3 Max" both reach the 48 GB entry).
"""

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

# Words vendors' tools put in front of a product name; people leave them out.
_VENDOR_WORDS = frozenset({"nvidia", "geforce", "tesla", "amd", "radeon", "apple", "intel"})
_VENDOR_PATTERN = re.compile(r"\b(" + "|".join(sorted(_VENDOR_WORDS)) + r")\b")
# "48 GB", "48GB", "24GiB", "A100-SXM4-80GB"; not "3g.40gb" (a MIG profile) nor "GB10" (a chip).
_MEMORY_PATTERN = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*gi?b(?![\w])", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^)]*\)")
_MAX_CANDIDATES = 8


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
    lowered = _VENDOR_PATTERN.sub(" ", text.casefold())
    return re.sub(r"[^a-z0-9.]", "", lowered).replace(".", "")


def memory_sizes_gb(text: str) -> set[float]:
    """Memory sizes a name states: 'Apple M3 Max (40-core GPU, 48 GB)' → {48.0}."""
    return {float(found.group(1)) for found in _MEMORY_PATTERN.finditer(text)}


def base_key(text: str) -> str:
    """`normalise` without memory sizes or parenthesised detail: the product a name is of.

    'Apple M4 Pro (20-core GPU, 24 GB)', 'M4 Pro 24GB' and 'Apple M4 Pro' all give 'm4pro'.
    """
    return normalise(_MEMORY_PATTERN.sub(" ", _PARENTHESES.sub(" ", text)))


def _tokens(text: str) -> set[str]:
    return {token for token in re.split(r"[^a-z0-9.]+", text.casefold()) if token}


def _names(entry: Named) -> tuple[str, ...]:
    return (entry.id, entry.name, *entry.aliases)


def resolve(entries: Mapping[str, EntryT], query: str, kind: str) -> EntryT:
    """By id, then name or alias (any case), then a unique normalised or partial match; a name
    stating a memory size ("M3 Max 48GB") then picks among the entries of that product."""
    try:
        return _resolve_name(entries, query, kind)
    except ResolveError as by_name:
        try:
            sized = _resolve_sized(entries, query, kind)
        except ResolveError as by_size:
            # "A100 80GB" names two cards by name already; the size can only widen that list
            raise (by_name if by_name.ambiguous else by_size) from None
        if sized is None:
            raise
        return sized


def _resolve_name(entries: Mapping[str, EntryT], query: str, kind: str) -> EntryT:
    if query in entries:
        return entries[query]
    folded = query.casefold().strip()
    exact = [entry for entry in entries.values()
             if folded in {name.casefold() for name in _names(entry)}]
    if len(exact) == 1:
        return exact[0]
    key = normalise(query)
    same = _unique([entry for entry in entries.values()
                    if key in {normalise(name) for name in _names(entry)}])
    if len(same) == 1:
        return same[0]
    if not same and key:
        partial = _token_matches(entries, query)
        if len(partial) == 1:
            return partial[0]
        if partial:
            same = partial
    if same or len(exact) > 1:
        raise ResolveError(kind, query, _ids(same or exact), True)
    raise ResolveError(kind, query, closest(entries, query), False)


def _token_matches(entries: Mapping[str, EntryT], query: str) -> list[EntryT]:
    """Entries one of whose names holds every word of `query` (vendor words aside)."""
    wanted = _tokens(query) - _VENDOR_WORDS
    if not wanted:
        return []
    return _unique([entry for entry in entries.values()
                    if any(wanted <= _tokens(name) for name in _names(entry))])


def _resolve_sized(entries: Mapping[str, EntryT], query: str, kind: str) -> EntryT | None:
    """The entry of the product `query` names whose names state the size `query` states; None
    when `query` states no size or names no product. Several of that size are ambiguous; none
    of that size is an error listing the sizes there are."""
    sizes = memory_sizes_gb(query)
    product = _MEMORY_PATTERN.sub(" ", query)
    if len(sizes) != 1 or not normalise(product):
        return None
    key = base_key(product)
    products = _unique([entry for entry in entries.values()
                        if key in {base_key(name) for name in _names(entry)}])
    if not products:
        products = _token_matches(entries, product)
    if not products:
        return None
    sized = [entry for entry in products
             if sizes <= set().union(*(memory_sizes_gb(name) for name in _names(entry)))]
    if len(sized) == 1:
        return sized[0]
    if sized:
        raise ResolveError(kind, query, _ids(sized), True)
    raise ResolveError(kind, query, _ids(products), False)


def _ids(entries: list[EntryT]) -> list[str]:
    return sorted(entry.id for entry in entries)[:_MAX_CANDIDATES]


def _unique(entries: list[EntryT]) -> list[EntryT]:
    seen: dict[str, EntryT] = {}
    for entry in entries:
        seen.setdefault(entry.id, entry)
    return list(seen.values())


def closest(entries: Mapping[str, Named], query: str, limit: int = 5) -> list[str]:
    """Ids whose names look most like `query`."""
    names: dict[str, str] = {}
    for entry in entries.values():
        for name in _names(entry):
            names.setdefault(normalise(name), entry.id)
    matches = difflib.get_close_matches(normalise(query), list(names), n=limit * 3, cutoff=0.4)
    ordered: list[str] = []
    for match in matches:
        if names[match] not in ordered:
            ordered.append(names[match])
    return ordered[:limit]
