"""The one error model importers raise: which file, and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class ModelImportError(Exception):
    """A model file or folder that cannot be read; `path` names it, `problem` says why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def unreadable(path: str | Path, error: OSError, expected: str) -> ModelImportError:
    """The error for a file the OS would not let us read, in the user's words.

    `expected` names what the path should have been ("a GGUF file", "a safetensors file")."""
    if isinstance(error, FileNotFoundError):
        return ModelImportError(path, "no such file")
    if isinstance(error, PermissionError):
        return ModelImportError(path, "permission denied (cannot read the file)")
    if isinstance(error, IsADirectoryError):
        return ModelImportError(path, f"is a directory, not {expected}")
    return ModelImportError(path, f"cannot read the file: {error}")
