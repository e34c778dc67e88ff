"""Secrets a bare development machine generates for itself, once, under var/."""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def generated_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes, made by `make` if it does not exist yet.

    Web, worker and beat processes start together: the bytes are written to a temporary file and
    linked into place, so exactly one process's value wins and every process reads that one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        try:
            os.write(fd, make())
            os.close(fd)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_bytes()
