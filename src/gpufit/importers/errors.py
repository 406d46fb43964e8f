"""The one error model importers raise: which file, and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class ModelImportError(Exception):
    """A model file or folder that cannot be read; `path` names it, `problem` says why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
