from __future__ import annotations

import asyncio

from rcsgate.kit.batching import Batcher, GroupCommit


class Store:
    def __init__(self) -> None:
        self.writes: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def write(self, items: list[int]) -> None:
        self.started.set()
        await self.gate.wait()
        if 13 in items:
            raise ValueError("unlucky")
        self.writes.append(items)


async def test_callers_arriving_together_share_one_write() -> None:
    store = Store()
    commits = GroupCommit(store.write)
    await asyncio.gather(*(commits.submit(i) for i in range(10)))
    assert store.writes == [list(range(10))]


async def test_callers_arriving_during_a_write_share_the_next() -> None:
    store = Store()
    store.gate.clear()
    commits = GroupCommit(store.write)
    first = asyncio.create_task(commits.submit(0))
    await store.started.wait()  # the first write has begun and waits at the gate
    later = [asyncio.create_task(commits.submit(i)) for i in (1, 2, 3)]
    await asyncio.sleep(0)  # one turn of the loop: the later callers queue up
    assert not any(task.done() for task in [first, *later])  # nobody returns before its commit
    store.gate.set()
    await asyncio.gather(first, *later)
    assert store.writes == [[0], [1, 2, 3]]


async def test_a_bad_item_fails_only_its_own_caller() -> None:
    store = Store()
    commits = GroupCommit(store.write)
    results = await asyncio.gather(
        *(commits.submit(i) for i in (12, 13, 14)), return_exceptions=True
    )
    assert isinstance(results[1], ValueError)
    assert results[0] is None
    assert results[2] is None
    assert store.writes == [[12], [14]]


async def test_batches_are_bounded() -> None:
    store = Store()
    commits = GroupCommit(store.write, max_items=4)
    await asyncio.gather(*(commits.submit(i) for i in range(10)))
    assert [len(batch) for batch in store.writes] == [4, 4, 2]


async def test_a_lone_caller_is_written_at_once() -> None:
    store = Store()
    await GroupCommit(store.write).submit(7)
    assert store.writes == [[7]]


async def test_each_caller_gets_its_own_result() -> None:
    calls: list[list[int]] = []

    async def double(items: list[int]) -> list[int]:
        calls.append(items)
        return [2 * item for item in items]

    batcher: Batcher[int, int] = Batcher(double)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert calls == [[0, 1, 2, 3, 4]]


async def test_a_batch_that_must_not_repeat_fails_all_its_callers_once() -> None:
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        raise ConnectionError("gone")

    batcher: Batcher[int, int] = Batcher(run, one_by_one=False)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)

    assert all(isinstance(result, ConnectionError) for result in results)
    assert calls == [[0, 1, 2]]


async def test_up_to_in_flight_batches_run_at_once() -> None:
    store = Store()
    store.gate.clear()
    commits = GroupCommit(store.write, in_flight=2)
    first = asyncio.create_task(commits.submit(0))
    await store.started.wait()  # the first batch waits at the gate
    store.started.clear()
    second = asyncio.create_task(commits.submit(1))
    await store.started.wait()  # a second batch began although the first has not finished
    third = asyncio.create_task(commits.submit(2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.writes == []  # both runners busy: the third waits for a free one
    store.gate.set()
    await asyncio.gather(first, second, third)
    assert sorted(store.writes) == [[0], [1], [2]]


async def test_a_caller_right_after_a_batch_finished_is_written() -> None:
    """The runner that just emptied the queue is gone at once, not when its task's callbacks
    run: a caller arriving in between starts a runner of its own instead of waiting forever."""
    store = Store()
    commits = GroupCommit(store.write)
    for item in range(3):
        await asyncio.wait_for(commits.submit(item), timeout=5)
    assert store.writes == [[0], [1], [2]]
