"""The store-command counter every service exposes on /metrics, on the real store."""

import pytest
from tandem_chassis.metrics import STORE_COMMANDS
from tandem_chassis.mongo import connect

pytestmark = pytest.mark.integration


def _count(command: str, collection: str = "things") -> float:
    return STORE_COMMANDS.labels(command, collection)._value.get()


async def test_every_command_a_client_sends_is_counted_by_name_and_collection(service_settings) -> None:
    settings = service_settings(service="metrics")
    client = connect(settings)
    try:
        collection = client[settings.database_name]["things"]
        before = {name: _count(name) for name in ("insert", "find", "update", "delete")}
        await collection.insert_one({"_id": "a", "n": 1})
        await collection.update_one({"_id": "a"}, {"$set": {"n": 2}})
        await collection.update_one({"_id": "a"}, {"$set": {"n": 3}})
        assert (await collection.find_one({"_id": "a"}))["n"] == 3
        await collection.delete_one({"_id": "a"})
        after = {name: _count(name) for name in before}
        assert {name: after[name] - before[name] for name in before} == {
            "insert": 1,
            "find": 1,
            "update": 2,
            "delete": 1,
        }
        assert _count("find", "other") == 0, "a command counts for the collection it names only"
    finally:
        await client.drop_database(settings.database_name)
        await client.close()
