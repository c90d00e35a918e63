"""Reading the beneficiary CSV in batches, alongside the database writes.

Normalising a row (CPF check digits, e-mail and phone validation) is pure Python and costs more
than writing it, so while one batch is written the next is already being read:

- small files: on a thread. Cheap to start, but the GIL lets it overlap only the moments SQLite
  or the network work without Python;
- large files (over ``PROCESS_THRESHOLD`` bytes): in a child process (``spawn``, importing only
  the reading modules), which uses a second core for real. Batches come back through a bounded
  queue, so memory stays flat however far ahead the reader could run.

Either way the writer sees the same ``(batch, bytes_read)`` pairs in file order.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queue_module
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from datetime import date
from typing import Any

from guarita.services.registry_file import CheckedFile, RegistryFileError, read_rows
from guarita.services.registry_rows import CardLimits, RegistryRow, RowNormaliser, RowRejected

Item = RegistryRow | RowRejected
Batch = tuple[list[Item], int]

# ~40,000 rows: below this, starting a process (~0.5 s) costs more than it saves.
PROCESS_THRESHOLD = 4 * 1024 * 1024
# Batches the child may read ahead of the writer.
_AHEAD = 3
_POLL_SECONDS = 0.5


def read_batches(checked: CheckedFile, limits: CardLimits, today: date, size: int) -> Iterator[Batch]:
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
        in_process = checked.size > PROCESS_THRESHOLD and (os.cpu_count() or 1) > 1
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


def _produce(checked: CheckedFile, limits: CardLimits, today: date, size: int, out) -> None:  # noqa: ANN001
    """The child's whole life: read, normalise, send; then one closing message."""
    try:
        for batch, done in read_batches(checked, limits, today, size):
            out.put(("batch", [_pack(item) for item in batch], done))
        out.put(("end", None, 0))
    except RegistryFileError as exc:
        out.put(("file_error", str(exc), 0))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        out.put(("crash", f"{exc.__class__.__name__}: {exc}", 0))


async def _in_process(
    checked: CheckedFile, limits: CardLimits, today: date, size: int
) -> AsyncIterator[Batch]:
    context = multiprocessing.get_context("spawn")
    channel = context.Queue(maxsize=_AHEAD)
    child = context.Process(
        target=_produce, args=(checked, limits, today, size, channel),
        name="guarita-import-reader", daemon=True,
    )
    child.start()
    try:
        while True:
            kind, payload, done = await asyncio.to_thread(_receive, channel, child)
            if kind == "batch":
                yield [_unpack(packed) for packed in payload], done
            elif kind == "end":
                return
            elif kind == "file_error":
                raise RegistryFileError(payload)
            else:
                raise RuntimeError(f"a leitura do arquivo falhou: {payload}")
    finally:
        if child.is_alive():
            child.terminate()
        await asyncio.to_thread(child.join, 5)
        channel.close()


def _receive(channel, child) -> tuple[str, Any, int]:  # noqa: ANN001
    while True:
        try:
            return channel.get(timeout=_POLL_SECONDS)
        except queue_module.Empty:
            if child.is_alive():
                continue
            # Everything the child sent is in the pipe before it exits: one last look.
            try:
                return channel.get(timeout=_POLL_SECONDS)
            except queue_module.Empty:
                return ("crash", f"o processo de leitura terminou (código {child.exitcode})", 0)
