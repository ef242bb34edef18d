"""Write one file in place of another: whole or not at all, never through a planted link.

`replacing(target)` creates a fresh temporary beside `target` with O_CREAT | O_EXCL under a
random private name (so a symbolic link planted at a predictable name is never followed),
yields it open for writing, and moves it over `target` once it is complete. A failed write
(disk full, read-only file system) removes the temporary and becomes a `UsageError` naming
the file, so the command exits 2 with the old file, if any, left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sim.errors import UsageError


def umask() -> int:
    """The process's umask (set and restored at once: os.umask is the only way to read it portably)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def cannot_write(path: Path | str, exc: OSError) -> UsageError:
    """A `UsageError` saying which file could not be written and why (ENOSPC, EROFS, EACCES, ENAMETOOLONG...)."""
    return UsageError(f"{path}: cannot write it ({exc.strerror or exc}); nothing was changed there")


@contextmanager
def replacing(target: Path) -> Iterator[BinaryIO]:
    """Yield a new private temporary beside `target`, open for binary writing; on success it replaces `target`.

    The file gets the usual mode (0666 less the umask). On any error the temporary is removed;
    an `OSError` becomes a `UsageError` naming `target`.
    """
    target = Path(target)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise cannot_write(target, exc) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), 0o666 & ~umask())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise cannot_write(target, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes) -> None:
    """Write `data` as the whole of `target` through `replacing`."""
    with replacing(target) as fh:
        fh.write(data)
