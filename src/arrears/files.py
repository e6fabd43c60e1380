"""Reading an input file with a bound: the one reader of every product, scenario, strategy and import file.

A file named on the command line may be anything: ``/dev/zero`` (endless), a FIFO (blocks until a writer comes),
a folder, or a 10 GB file. Each is refused at once, in one line, before anything is read:

- only a regular file is read; it is opened without waiting (``O_NONBLOCK``), so a FIFO cannot hang the open;
- a file larger than its kind's cap is refused from its size, and the read itself stops one byte past the cap, so
  a file that grows while it is read cannot exceed it either;
- text is UTF-8 (a BOM is allowed): anything else is refused naming the byte where decoding failed.

==============================  ==========  =====================================================================
Kind                            Cap         Why
==============================  ==========  =====================================================================
product, strategy file          1 MiB       the sample product is 3 KB; a settings file above 1 MiB is not one
scenario file                   16 MiB      a scenario is a loan and its payments: 16 MiB is ~300,000 payments
import table (CSV, Parquet)     1 GiB       one table of a portfolio: ~10 million rows of CSV, read whole
==============================  ==========  =====================================================================
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from arrears.errors import InputRejected

MIB = 1024 * 1024
PRODUCT_FILE_CAP = MIB
STRATEGY_FILE_CAP = MIB
SCENARIO_FILE_CAP = 16 * MIB
IMPORT_FILE_CAP = 1024 * MIB


class FileRefused(InputRejected):
    """A file that cannot be read as input; the message names the file, what is wrong and the fix."""


def read_capped(path: str | Path, *, what: str, cap: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them; :class:`FileRefused` otherwise.
    ``what`` names the file's kind in messages ("product file")."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens without a writer
    except OSError as error:
        raise FileRefused(f"{path}: cannot read the {what} ({error.strerror}); check the path") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path}: the {what} is not a regular file (a folder, device or pipe); give a file")
        if info.st_size > cap:
            raise FileRefused(_too_big(path, what, cap))
        chunks, left = [], cap + 1
        while left > 0:
            chunk = os.read(descriptor, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:  # it grew past the cap while being read
            raise FileRefused(_too_big(path, what, cap))
        return b"".join(chunks)
    except OSError as error:
        raise FileRefused(f"{path}: cannot read the {what} ({error.strerror}); check the path") from None
    finally:
        os.close(descriptor)


def read_text_capped(path: str | Path, *, what: str, cap: int) -> str:
    """:func:`read_capped` decoded as UTF-8 (a leading BOM dropped); :class:`FileRefused` for other bytes."""
    data = read_capped(path, what=what, cap=cap)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            f"{path}: the {what} is not UTF-8 text (byte {error.start} cannot be decoded); save it as UTF-8"
        ) from None


def _too_big(path: str | Path, what: str, cap: int) -> str:
    return f"{path}: the {what} is larger than {_size(cap)}, its cap (arrears.files); check the file"


def _size(count: int) -> str:
    if count % (1024 * MIB) == 0:
        return f"{count // (1024 * MIB)} GiB"
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"
