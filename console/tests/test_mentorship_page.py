"""The mentorship page and the names helper against fake services (httpx.MockTransport)."""

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from tandem_chassis.auth import mint_dev_token
from tandem_console.app import build_app
from tandem_console.config import Settings
from tandem_console.forms import FormError, goals_from_profile, local_datetime, parse_goal_targets
from tandem_console.session import SESSION_COOKIE

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-for-dev-mode-0123456789"
ORIGIN = {"origin": "http://testserver"}
MENTORSHIP = {
    "mentorship_id": "m-1",
    "mentor_id": "grace",
    "mentee_id": "ada",
    "status": "accepted",
    "origin": "request",
}
RELATIONSHIP = {
    "mentorship_id": "m-1",
    "mentor_id": "grace",
    "mentee_id": "ada",
    "status": "open",
    "health": "at_risk",
    "health_reasons": ["agreement_unsigned"],
    "agreement": {"versions": []},
    "goals": [],
    "sessions": [
        {
            "session_id": "s-1",
            "starts_at": "2026-03-02T10:00:00+00:00",
            "minutes": 60,
            "status": "logged",
            "created_by": "ada",
            "log": {"happened": True, "minutes": 50, "notes": "shared", "logged_by": "ada"},
            "private_notes": {"ada": "only mine"},
        }
    ],
    "open_feedback_requests": [
        {"request_id": "fit:1:mentee", "kind": "fit", "respondent_id": "ada", "session_id": "s-1"}
    ],
}


class Fake:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], httpx.Response] = {}
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.routes.get((request.method, request.url.path)) or httpx.Response(
            404, json={"detail": "no such thing"}
        )


@pytest.fixture
def fake() -> Fake:
    fake = Fake()
    fake.routes["GET", "/v1/mentorships/m-1"] = httpx.Response(200, json=MENTORSHIP)
    fake.routes["GET", "/v1/mentorships/m-1/relationship"] = httpx.Response(200, json=RELATIONSHIP)
    fake.routes["GET", "/v1/profiles/ada"] = httpx.Response(
        200,
        json={"employee_id": "ada", "timezone": "Europe/Berlin", "goals": [{"name": "kafka", "level": 4}]},
    )
    fake.routes["GET", "/v1/names"] = httpx.Response(
        200, json={"names": {"ada": "Ada Lovelace", "grace": "Grace Hopper"}}
    )
    return fake


@pytest.fixture
def console(fake: Fake) -> Iterator[TestClient]:
    with TestClient(
        build_app(Settings(env="dev", jwt_secret=SECRET), transport=httpx.MockTransport(fake))
    ) as c:
        c.cookies.set(SESSION_COOKIE, mint_dev_token(SECRET, sub="ada", roles=["employee"]))
        yield c


def test_the_page_names_the_pair_shows_health_notes_and_prefills_goals_from_the_mentees_profile(console):
    page = console.get("/me/mentorships/m-1")
    assert page.status_code == 200, page.text
    assert "Grace Hopper mentoring Ada Lovelace" in page.text
    assert 'data-health="at_risk"' in page.text and "agreement unsigned" in page.text
    assert "only mine" in page.text and "shared" in page.text
    assert 'data-kind="fit"' in page.text
    assert "kafka: 3 -&gt; 4" in page.text  # from the profile: the level the mentee wants
    assert "11:00" in page.text  # 10:00 UTC, shown in the viewer's time zone


def test_a_refused_form_shows_the_services_reason_and_keeps_what_was_typed(console, fake: Fake):
    fake.routes["PUT", "/v1/mentorships/m-1/agreement"] = httpx.Response(
        422,
        json={"detail": "the end date must be after the mentorship started", "reason": "end_date_in_past"},
    )
    answer = console.post(
        "/me/mentorships/m-1/agreement",
        data={
            "goals": "Kafka: 2 -> 4",
            "expectations": "weekly chats",
            "cadence": "weekly",
            "end_date": "2001-01-01",
        },
        headers=ORIGIN,
    )
    assert answer.status_code == 422
    assert "the end date must be after the mentorship started" in answer.text
    assert "weekly chats" in answer.text and "2001-01-01" in answer.text
    put = next(c for c in fake.calls if c.method == "PUT")
    assert json.loads(put.content)["goals"] == [{"name": "Kafka", "current_level": 2, "target_level": 4}]


def test_a_session_time_is_read_in_the_persons_time_zone(console, fake: Fake):
    fake.routes["POST", "/v1/mentorships/m-1/sessions"] = httpx.Response(201, json={})
    answer = console.post(
        "/me/mentorships/m-1/sessions",
        data={"starts_at": "2026-06-01T09:30", "minutes": "45", "agenda": "intro"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert answer.status_code == 303
    post = next(c for c in fake.calls if c.method == "POST")
    assert json.loads(post.content)["starts_at"] == "2026-06-01T09:30:00+02:00"


def test_names_replace_ids_and_unknown_people_keep_their_id(console, fake: Fake):
    fake.routes["GET", "/v1/mentees/ada/suggestions"] = httpx.Response(
        200,
        json={
            "suggestions": [
                {"mentor_id": m, "score": 0.5, "reasons": [], "breakdown": {}} for m in ("grace", "x-9")
            ]
        },
    )
    page = console.get("/me/suggestions")
    assert "<h2>Grace Hopper</h2>" in page.text and "<h2>x-9</h2>" in page.text
    names_call = next(c for c in fake.calls if c.url.path == "/v1/names")
    assert sorted(names_call.url.params.get_list("id")) == ["grace", "x-9"]


def test_goal_targets_parse_from_text_and_refuse_bad_levels():
    assert parse_goal_targets("Kafka: 2 -> 4\nPython: 3\nGo") == [
        {"name": "Kafka", "current_level": 2, "target_level": 4},
        {"name": "Python", "current_level": 2, "target_level": 3},
        {"name": "Go", "current_level": 2, "target_level": 3},
    ]
    with pytest.raises(FormError, match="1 to 5"):
        parse_goal_targets("Kafka: 2 -> 9")
    assert goals_from_profile([{"name": "kafka", "level": 1}]) == "kafka: 1 -> 1"
    assert local_datetime("2026-01-01T08:00", "nowhere/Unknown", what="When") == "2026-01-01T08:00:00+00:00"
