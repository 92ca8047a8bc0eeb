"""Conditional writes on the real store are atomic under concurrent writers, as MongoDB's are.

Every aggregate write in Tandem is guarded by the version it read (``{_id, version: v}``): of
several writers that read one version, exactly one may win. FerretDB 1.24 read the matching
document and wrote it outside one transaction, so two writers on separate connections could both
match version v and both write (one overwriting the other); the local stack patches that
(deploy/local/ferretdb/atomic-conditional-writes.patch). Each writer here has its own client, so
its commands reach the store on their own connections.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

pytestmark = pytest.mark.integration

WRITERS = 8
VERSIONS = 25

Document = dict[str, object]
Attempt = Callable[[AsyncCollection[Document], int, int], Awaitable[bool]]


@pytest.fixture
async def writers(
    reachable_infrastructure, service_settings
) -> AsyncIterator[list[AsyncCollection[Document]]]:
    """One collection handle per writer, each through its own client."""
    database = service_settings(service="atomicity").database_name
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(reachable_infrastructure.mongodb_uri, maxPoolSize=2) for _ in range(WRITERS)
    ]
    try:
        yield [client[database]["aggregates"] for client in clients]
    finally:
        await clients[0].drop_database(database)
        for client in clients:
            await client.close()


async def _race(writers: list[AsyncCollection[Document]], attempt: Attempt) -> Counter[int]:
    """For each version in turn, every writer tries to move the aggregate past it; wins per version."""
    wins: Counter[int] = Counter()
    for version in range(VERSIONS):
        won = await asyncio.gather(*(attempt(coll, n, version) for n, coll in enumerate(writers)))
        wins[version] = sum(won)
    return wins


async def _update_one(coll: AsyncCollection[Document], writer: int, version: int) -> bool:
    result = await coll.update_one(
        {"_id": "a-1", "version": version},
        {"$set": {"version": version + 1, "by": writer}, "$push": {"log": f"{version}:{writer}"}},
    )
    return result.modified_count == 1


async def _find_one_and_update(coll: AsyncCollection[Document], writer: int, version: int) -> bool:
    after = await coll.find_one_and_update(
        {"_id": "a-1", "version": version},
        {"$set": {"version": version + 1, "by": writer}, "$push": {"log": f"{version}:{writer}"}},
        return_document=ReturnDocument.AFTER,
    )
    return after is not None


def _assert_one_winner_per_version(wins: Counter[int], final: Document | None) -> None:
    assert final is not None
    log = final["log"]
    assert isinstance(log, list)
    assert wins == Counter(dict.fromkeys(range(VERSIONS), 1)), (
        f"writes that won per version: {dict(wins)}; the aggregate kept {len(log)} of "
        f"{sum(wins.values())} acknowledged writes"
    )
    assert final["version"] == VERSIONS
    assert [entry.split(":")[0] for entry in log] == [str(v) for v in range(VERSIONS)], "no write lost"


async def test_one_update_one_wins_per_version(writers) -> None:
    await writers[0].insert_one({"_id": "a-1", "version": 0, "log": []})
    wins = await _race(writers, _update_one)
    _assert_one_winner_per_version(wins, await writers[0].find_one({"_id": "a-1"}))


async def test_one_find_one_and_update_wins_per_version(writers) -> None:
    await writers[0].insert_one({"_id": "a-1", "version": 0, "log": []})
    wins = await _race(writers, _find_one_and_update)
    _assert_one_winner_per_version(wins, await writers[0].find_one({"_id": "a-1"}))


async def test_a_guarded_delete_and_guarded_updates_of_one_version_have_one_winner(writers) -> None:
    """Half the writers delete version v, half move it to v+1: exactly one of them may win."""
    winners: dict[int, list[str]] = {}
    inconsistent: dict[int, Document | None] = {}
    for version in range(VERSIONS):
        await writers[0].replace_one({"_id": "a-1"}, {"version": version, "log": []}, upsert=True)

        async def attempt(coll: AsyncCollection[Document], writer: int, version: int = version) -> str:
            if writer % 2:
                deleted = await coll.delete_one({"_id": "a-1", "version": version})
                return "deleted" if deleted.deleted_count else "lost"
            return "updated" if await _update_one(coll, writer, version) else "lost"

        results = await asyncio.gather(*(attempt(coll, n) for n, coll in enumerate(writers)))
        winners[version] = sorted(result for result in results if result != "lost")
        left = await writers[0].find_one({"_id": "a-1"})
        if (left is None) != (winners[version] == ["deleted"]):
            inconsistent[version] = left
    several = {version: won for version, won in winners.items() if len(won) != 1}
    assert not several, f"versions with other than one winner: {several}"
    assert not inconsistent, f"what was left does not match the one winner: {inconsistent}"


async def test_deletes_by_id_delete_and_count_exactly_what_they_name(writers) -> None:
    """``_id: {$in}`` deletes go by id without reading the documents (the fourth patch): they
    delete what they name and nothing else, count what was there, and every other delete still
    applies its whole filter."""
    coll = writers[0]
    await coll.insert_many(
        [{"_id": f"e-{n}", "n": n} for n in range(10)] + [{"_id": n, "n": n} for n in range(3)]
    )
    named = ["e-1", "e-2", "e-2", "e-9", "gone"]  # a repeat, and one that is not there
    assert (await coll.delete_many({"_id": {"$in": named}})).deleted_count == 3
    assert (await coll.delete_many({"_id": {"$in": ["e-1", "e-2"]}})).deleted_count == 0, "deleted already"
    guarded = await coll.delete_many({"_id": {"$in": ["e-3", "e-4"]}, "n": 3})
    assert guarded.deleted_count == 1, "a further condition is still applied"
    assert (await coll.delete_one({"_id": {"$in": ["e-5", "e-6"]}})).deleted_count == 1, "one only"
    assert (await coll.delete_many({"_id": {"$in": [0, 1]}})).deleted_count == 2, "numbers: by the read"
    left = {str(d["_id"]) async for d in coll.find({})}
    assert len(left & {"e-5", "e-6"}) == 1
    assert left - {"e-5", "e-6"} == {"2", "e-0", "e-4", "e-7", "e-8"}
