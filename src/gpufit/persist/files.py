"""Writing user files safely: atomic replacement, exclusive names, and keeping bad files aside.

Every store under persist/ (settings, profiles, the user catalog) writes through here, so a
crash mid-write never leaves half a file and a file that cannot be read is kept, never
overwritten: it is moved to `<name>.corrupt-<timestamp>[-n]`, a name no other file has.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path

# errno values meaning "this file system has no hard links" (FAT, some network mounts).
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP,
                            errno.ENOSYS, errno.EXDEV, errno.EMLINK})


def write_atomic(target: Path, data: bytes) -> None:
    """Replace `target` with `data`: a synced temporary file in the same folder, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(target.parent)


def move_aside(path: Path) -> Path:
    """Rename an unreadable file to a free `.corrupt-<timestamp>[-n]` name and return that name.

    Raises FileNotFoundError if the file is gone and OSError if it cannot be moved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        target = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        try:
            publish_exclusive(path, target)
        except FileExistsError:
            continue
        path.unlink(missing_ok=True)
        return target
    raise OSError(errno.EEXIST, f"no free name for a copy of {path.name}")


def publish_exclusive(source: Path, target: Path) -> None:
    """Give `source`'s file the name `target` too, failing with FileExistsError if it is taken."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here (some network and FAT file systems): claim the name with an exclusive
        # create, then rename over our own claim. Readers skip the empty claim without moving it.
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.replace(source, target)


def sync_directory(directory: Path) -> None:
    """Make a rename itself durable; not possible (or needed) on every platform."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
