"""Reading the beneficiary CSV in batches, alongside the database writes.

Normalising a row (CPF check digits, e-mail and phone validation) is pure Python and costs more
than writing it, so while one batch is written the next is already being read:

- small files: on a thread. Cheap to start, but the GIL lets it overlap only the moments SQLite
  or the network work without Python;
- large files (over ``PROCESS_THRESHOLD`` bytes): in a child process (``python -m`` this
  module, importing only the reading modules), which uses a second core for real. Batches come
  back through its stdout with a bounded buffer, so memory stays flat however far ahead the
  reader could run.

Either way the writer sees the same ``(batch, bytes_read)`` pairs in file order.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

import guarita
from guarita.services.registry_file import CheckedFile, RegistryFileError, read_rows
from guarita.services.registry_rows import CardLimits, RegistryRow, RowNormaliser, RowRejected

Item = RegistryRow | RowRejected
Batch = tuple[list[Item], int]

# ~40,000 rows: below this, starting a process (~0.5 s) costs more than it saves.
PROCESS_THRESHOLD = 4 * 1024 * 1024
# The child imports this module by name, from the same source tree as the parent.
_CHILD_MODULE = "guarita.services.registry_batches"
_SOURCE_ROOT = str(Path(guarita.__file__).resolve().parent.parent)
# asyncio stops reading the child's pipe beyond twice this (8 MB of pickled batches, some
# thirty of 2,000 rows): the child then waits, so memory stays bounded.
_BUFFER = 4 * 1024 * 1024


def read_batches(
    checked: CheckedFile, limits: CardLimits, today: date, size: int
) -> Iterator[Batch]:
    """Normalised rows (or their rejections) in lists of ``size``, with the bytes read so far."""
    normalise = RowNormaliser(checked, limits, today)
    batch: list[Item] = []
    done = 0
    for raw, done in read_rows(checked):
        try:
            batch.append(normalise(raw))
        except RowRejected as rejected:
            batch.append(rejected)
        if len(batch) >= size:
            yield batch, done
            batch = []
    if batch:
        yield batch, done


def batches(
    checked: CheckedFile,
    limits: CardLimits,
    today: date,
    size: int,
    *,
    in_process: bool | None = None,
) -> AsyncIterator[Batch]:
    """Batches read ahead of the caller; ``in_process=None`` decides by the file's size."""
    if in_process is None:
        in_process = (
            checked.size > PROCESS_THRESHOLD
            and (os.cpu_count() or 1) > 1
            and bool(sys.executable)  # embedded interpreters have none to start
        )
    if in_process:
        return _in_process(checked, limits, today, size)
    return _in_thread(read_batches(checked, limits, today, size))


async def _in_thread(source: Iterator[Batch]) -> AsyncIterator[Batch]:
    # Only one ``next()`` runs at a time, so the generator and its open file are never used by
    # two threads at once.
    pending = asyncio.ensure_future(asyncio.to_thread(next, source, None))
    try:
        while (current := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, source, None))
            yield current
    finally:
        # A thread cannot be cancelled: let the read in flight end before closing the file.
        with suppress(BaseException):
            await asyncio.shield(pending)
        source.close()  # type: ignore[attr-defined]


# -- in a child process ---------------------------------------------------------------------------
# Rows cross the pipe as plain tuples: smaller and faster to pickle than the objects, and an
# exception class with its own constructor (RowRejected) would not survive pickling anyway.


def _pack(item: Item) -> tuple[Any, ...]:
    if isinstance(item, RowRejected):
        return (False, item.line, item.card_number, item.reason, item.valid_card)
    return (
        True, item.line, item.card_number, item.cpf, item.birth_date, item.name,
        item.name_search, item.email, item.phone, item.legacy_password_hash,
    )


def _unpack(packed: tuple[Any, ...]) -> Item:
    if packed[0]:
        return RegistryRow(*packed[1:])
    _, line, card, reason, valid_card = packed
    return RowRejected(line, card, reason, valid_card=valid_card)


def _child_main() -> None:
    """The child's whole life: read the job, then read, normalise and send every batch.

    Frames on stdout: an 8-byte big-endian length, then a pickle of ``(kind, payload, done)``.
    The parent is the only reader and wrote the job itself, so unpickling is safe here.
    """
    out = sys.stdout.buffer

    def send(kind: str, payload: Any = None, done: int = 0) -> None:
        frame = pickle.dumps((kind, payload, done), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(frame).to_bytes(8, "big"))
        out.write(frame)
        out.flush()

    try:
        checked, limits, today, size = pickle.load(sys.stdin.buffer)  # noqa: S301 - see above
        for batch, done in read_batches(checked, limits, today, size):
            send("batch", [_pack(item) for item in batch], done)
        send("end")
    except RegistryFileError as exc:
        send("file_error", str(exc))
    except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or the parent stopped listening
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        send("crash", f"{exc.__class__.__name__}: {exc}")


async def _in_process(
    checked: CheckedFile, limits: CardLimits, today: date, size: int
) -> AsyncIterator[Batch]:
    # An explicit ``python -m`` child rather than multiprocessing: ``spawn`` re-runs the
    # parent's ``__main__`` (the CLI, pytest, a ``-c`` string...) in the child, which is slow
    # at best and fails outright for ``python -c`` or stdin.
    source_root = _SOURCE_ROOT
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [source_root, os.environ.get("PYTHONPATH")])
    )}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", _CHILD_MODULE,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, limit=_BUFFER,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps((checked, limits, today, size)))
        await child.stdin.drain()
        child.stdin.close()
        while True:
            try:
                length = int.from_bytes(await child.stdout.readexactly(8), "big")
                kind, payload, done = pickle.loads(await child.stdout.readexactly(length))  # noqa: S301
            except asyncio.IncompleteReadError:
                code = await child.wait()
                raise RuntimeError(f"o processo de leitura terminou (código {code})") from None
            if kind == "batch":
                yield [_unpack(packed) for packed in payload], done
            elif kind == "end":
                return
            elif kind == "file_error":
                raise RegistryFileError(payload)
            else:
                raise RuntimeError(f"a leitura do arquivo falhou: {payload}")
    finally:
        if child.returncode is None:
            with suppress(ProcessLookupError):
                child.kill()
        await child.wait()


if __name__ == "__main__":
    _child_main()
