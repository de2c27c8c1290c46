"""The render budget charges the time a render runs, its tasks included, not the time it waits."""

from __future__ import annotations

import asyncio
from time import perf_counter

import pytest

from subscriptions.budget import Budget, OverBudget


def burn(seconds: float) -> None:
    """Runs without yielding, as rendering a big page does."""
    end = perf_counter() + seconds
    while perf_counter() < end:
        pass


async def test_waiting_is_not_charged() -> None:
    assert await Budget(0.05).run(asyncio.sleep(0.3, result="done")) == "done"


async def test_work_waiting_behind_other_work_is_not_charged_for_it() -> None:
    async def light() -> str:
        for _ in range(5):
            await asyncio.sleep(0)  # each time behind a 0.03 s step of the other
        return "light"

    async def heavy() -> None:
        for _ in range(10):
            burn(0.03)
            await asyncio.sleep(0)

    hogging = asyncio.ensure_future(heavy())
    await asyncio.sleep(0)
    started = perf_counter()
    assert await Budget(0.05).run(light()) == "light"
    assert perf_counter() - started > 0.1  # it did wait longer than its budget
    await hogging


async def test_the_tasks_it_starts_are_charged_and_cancelled_once_over_the_budget() -> None:
    finished = []

    async def part(n: int) -> None:
        for _ in range(5):
            burn(0.02)
            await asyncio.sleep(0)
        finished.append(n)

    async def work() -> None:
        await asyncio.gather(*(part(n) for n in range(10)))  # 1 s of running, all of it in other tasks

    with pytest.raises(OverBudget):
        await Budget(0.1).run(work())
    await asyncio.sleep(0.05)
    assert finished == []
