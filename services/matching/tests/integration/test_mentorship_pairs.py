"""Mentorships found by mentee or mentor through their pairs, on the real store: the same answers
as a scan of every mentorship, also for mentorships stored before the pairs existed."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tandem_chassis import AggregateStore
from tandem_matching.adapters.mentorships import MongoMentorships
from tandem_matching.domain.lifecycle import State
from tandem_matching.domain.mentorship import Mentorship

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _pairs() -> list[Mentorship]:
    """m-0 .. m-11 over three mentees and four mentors, in every status."""
    statuses = [State.PROPOSED, State.ACCEPTED, State.DECLINED, State.ENDED, State.EXPIRED]
    return [
        Mentorship(
            mentorship_id=f"m-{i:02d}",
            mentor_id=f"mentor-{i % 4}",
            mentee_id=f"mentee-{i % 3}",
            status=statuses[i % len(statuses)],
            program_id="p1" if i % 2 else None,
            proposed_at=AT,
        )
        for i in range(12)
    ]


async def _scan(repository: MongoMentorships, query: dict) -> list[str]:
    """The ids a scan of every mentorship finds, in id order."""
    return [d["_id"] async for d in repository.collection.find(query).sort("_id", 1)]


async def test_lookups_by_mentee_or_mentor_answer_what_a_scan_answers(mongo_client, isolated_settings):
    database = mongo_client[f"tandem_matching_pairs_{isolated_settings['TANDEM_DB_SUFFIX']}"]
    try:
        early = MongoMentorships(AggregateStore(database["mentorships"], source="/tests"))
        await early.create_indexes()
        for mentorship in _pairs()[:6]:
            assert await early.add(mentorship)
        # These six were stored before the pairs existed (an older version wrote none).
        await database.drop_collection("mentorships_pairs")
        repository = MongoMentorships(AggregateStore(database["mentorships"], source="/tests"))
        await repository.create_indexes()  # lists them, once
        for mentorship in _pairs()[6:]:
            assert await repository.add(mentorship)
        assert not await repository.add(_pairs()[7]), "a repeated proposal changes nothing"
        open_ = [State.PROPOSED, State.ACCEPTED]
        cases = [
            ({"mentee_id": "mentee-1"}, {"mentee_id": "mentee-1"}),
            (
                {"mentor_id": "mentor-2", "statuses": open_},
                {"mentor_id": "mentor-2", "status": {"$in": open_}},
            ),
            (
                {"mentee_ids": ["mentee-0", "mentee-2", "nobody"]},
                {"mentee_id": {"$in": ["mentee-0", "mentee-2"]}},
            ),
            (
                {"mentee_id": "mentee-0", "mentor_id": "mentor-0"},
                {"mentee_id": "mentee-0", "mentor_id": "mentor-0"},
            ),
            ({"mentee_id": "mentee-2", "program_id": "p1"}, {"mentee_id": "mentee-2", "program_id": "p1"}),
            ({"mentee_ids": []}, {"mentee_id": {"$in": []}}),
            ({"mentee_id": "nobody"}, {"mentee_id": "nobody"}),
            ({"statuses": [State.DECLINED]}, {"status": {"$in": [State.DECLINED]}}),
        ]
        for arguments, query in cases:
            found = [m.mentorship_id for m in await repository.find(**arguments)]
            assert found == await _scan(repository, query), arguments
            assert found or arguments in ({"mentee_ids": []}, {"mentee_id": "nobody"}), arguments
        limited = await repository.find(mentor_id="mentor-1", limit=2)
        assert [m.mentorship_id for m in limited] == (await _scan(repository, {"mentor_id": "mentor-1"}))[:2]

        changed = replace(_pairs()[0], status=State.ACCEPTED, version=2)
        assert await repository.save(changed)
        found = await repository.find(mentee_id="mentee-0", statuses=[State.ACCEPTED])
        assert "m-00" in {m.mentorship_id for m in found}, "a status change needs no new listing"
    finally:
        await mongo_client.drop_database(database.name)
