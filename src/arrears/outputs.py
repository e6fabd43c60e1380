"""Files a command writes: checked before any work, written whole or not at all.

The rule (issue 19): a command that fails leaves nothing behind, neither a half-written file nor a store that says
the work was done. So an output path is checked before the command starts (:func:`output_file`: its folder exists
and takes files, the path is not a folder), and the file is written under a temporary name in the same folder and
renamed over the target only once it is complete (:func:`staged`). A command that also commits to the store writes
the temporary file first, commits, then renames: if the write fails nothing is committed; if the commit fails the
temporary file is removed; the rename itself (same folder, same file system) does not fail halfway.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arrears.errors import InputRejected


def output_file(path: Path, option: str) -> Path:
    """``path`` if a file can be written there; :class:`InputRejected` naming ``option`` and the fix otherwise."""
    folder = path.parent
    if path.is_dir():
        raise InputRejected(f"{option}: {path} is a folder; give a file name inside it, e.g. {path / 'out.txt'}")
    if not folder.is_dir():
        raise InputRejected(f"{option}: the folder {folder} does not exist; create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputRejected(f"{option}: {path} cannot be written (permission denied); choose another path")
    return path


def input_folder(path: Path, option: str) -> Path:
    """``path`` if it is an existing folder; :class:`InputRejected` naming ``option`` otherwise."""
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "does not exist"
        raise InputRejected(f"{option}: {path} {what}; give the dataset's folder")
    return path


@contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write into; renamed over ``path`` when the block ends without an
    error, removed when it raises (module docstring)."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise InputRejected(f"cannot write into {path.parent} ({error.strerror}); choose another path") from None
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputRejected(f"cannot write {path} ({error.strerror}); choose another path") from None


def output_folder(path: Path, option: str) -> Path:
    """``path`` as a folder to write into, created (with its parents) if missing; :class:`InputRejected` naming
    ``option`` when it is a file, sits under a file, or cannot be created."""
    if path.exists() and not path.is_dir():
        raise InputRejected(f"{option}: {path} is a file; give a folder")
    ancestor = next((folder for folder in path.parents if folder.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise InputRejected(f"{option}: {ancestor} is a file, so {path} cannot be a folder; choose another path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputRejected(
            f"{option}: cannot create the folder {path} ({error.strerror}); choose another path"
        ) from None
    return path
