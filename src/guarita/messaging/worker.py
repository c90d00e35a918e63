"""Outbox worker (placeholder until the messaging work lands)."""

from __future__ import annotations

import asyncio


async def run_forever(runtime, stop: asyncio.Event) -> None:  # noqa: ANN001
    await stop.wait()
