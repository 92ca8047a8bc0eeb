"""The program insight pages against fake services: figures, withheld groups, actions, exports."""

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from tandem_chassis.auth import mint_dev_token
from tandem_console.app import build_app
from tandem_console.config import Settings
from tandem_console.pages.program_insights import health_charts, outcome_charts
from tandem_console.session import SESSION_COOKIE

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-for-dev-mode-0123456789"
ORIGIN = {"origin": "http://testserver"}
P = "p-1"
WITHHELD = {"withheld": True, "reason": "fewer than 3 answers", "answers": 2}
PROGRAM = {"program_id": P, "name": "Spring cohort", "mentee_ids": [], "mentor_ids": [], "round_ids": []}
HEALTH = {
    "program_id": P,
    "as_of": "2026-12-01T10:00:00Z",
    "pairs_by_health": {"healthy": 2, "at_risk": 1, "inactive": 0},
    "agreements_signed_share": 0.667,
    "days_to_first_session_median": 3.5,
    "sessions": {"total": 5, "median_per_pair": 2.0},
    "hours": {"total": 4.5, "median_per_pair": 1.5},
    "fit_answers": WITHHELD,
    "pulse": {"mean": 3.67, "answers": 3, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}},
    "pairs": [
        {
            "mentorship_id": "m-1",
            "mentor_id": "e-2",
            "mentor_name": "Grace Hopper",
            "mentee_id": "e-1",
            "mentee_name": "Ada Lovelace",
            "health": "at_risk",
            "last_session_at": None,
            "sessions": 0,
            "latest_pulse": 2,
            "open_requests": 1,
            "admin_notes": [
                {"note_id": "n-1", "author_id": "admin", "at": "2026-11-30T09:00:00Z", "text": "Call them"}
            ],
        }
    ],
}
OUTCOMES = {
    "program_id": P,
    "as_of": "2026-12-01T10:00:00Z",
    "ended": {"completed": 3, "ended_early": 1, "by_reason": {"completed": 3, "not_a_fit": 1}},
    "goals_achieved": {"yes": 0.5, "partly": 0.25, "no": 0.25, "answers": 4},
    "level_gain": [{"skill": "Kafka", "mean": 1.5, "count": 4}, {"skill": "Rust", **WITHHELD}],
    "satisfaction": {"final_mean": 4.25, "pulse_mean": WITHHELD, "answers_final": 4, "answers_pulse": 2},
    "would_recommend": WITHHELD,
}
LEARNED = {
    "program_id": P,
    "scope": "all_programs",
    "outcomes_used": 42,
    "status": "ready",
    "components": [
        {"name": "goal_fit", "effect": 0.41, "ci90": [0.22, 0.6], "significant": True},
        {"name": "timezone", "effect": 0.02, "ci90": [-0.1, 0.14], "significant": False},
    ],
    "current_weights": {"goal_fit": 0.5, "timezone": 0.5},
    "proposed_weights": {"goal_fit": 0.9, "timezone": 0.1},
    "held_out": {"metric": "spearman", "current": 0.21, "proposed": 0.34, "gain": 0.13},
    "verdict": "the proposal ranks held-out pairs better",
}


class FakeServices:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], httpx.Response] = {}
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.routes.get((request.method, request.url.path))
        return answer or httpx.Response(404, json={"detail": f"no fake for {request.url.path}"})


@pytest.fixture
def fake() -> FakeServices:
    services = FakeServices()
    services.routes["GET", f"/v1/programs/{P}"] = httpx.Response(200, json=PROGRAM)
    return services


@pytest.fixture
def admin(fake: FakeServices) -> Iterator[TestClient]:
    settings = Settings(env="dev", jwt_secret=SECRET, relationships_url="http://relationships")
    with TestClient(build_app(settings, transport=httpx.MockTransport(fake))) as client:
        client.cookies.set(SESSION_COOKIE, mint_dev_token(SECRET, sub="admin", roles=["program_admin"]))
        yield client


def test_the_health_page_shows_counts_names_notes_and_withheld_fit_answers(admin: TestClient, fake):
    fake.routes["GET", f"/v1/programs/{P}/health"] = httpx.Response(200, json=HEALTH)
    page = admin.get(f"/admin/programs/{P}/health", params={"sort": "lowest_pulse"})
    assert page.status_code == 200, page.text
    assert fake.calls[-1].url.params["sort"] == "lowest_pulse"
    assert fake.calls[-1].url.host == "relationships"
    assert 'data-label="at risk" data-value="1"' in page.text
    assert "Ada Lovelace" in page.text and "Grace Hopper" in page.text and "Call them" in page.text
    assert "Fit answers: fewer than 3 answers (2 so far)" in page.text
    assert 'id="chart-pulse"' in page.text and 'id="chart-fit"' not in page.text


def test_an_unknown_sort_is_not_passed_on(admin: TestClient, fake):
    fake.routes["GET", f"/v1/programs/{P}/health"] = httpx.Response(200, json=HEALTH)
    assert admin.get(f"/admin/programs/{P}/health", params={"sort": "drop table"}).status_code == 200
    assert "sort" not in fake.calls[-1].url.params


def test_a_note_and_a_nudge_are_posted_to_relationships_and_an_empty_note_is_refused(admin, fake):
    fake.routes["POST", "/v1/mentorships/m-1/admin-notes"] = httpx.Response(201, json={"note_id": "n-2"})
    fake.routes["POST", "/v1/mentorships/m-1/nudge"] = httpx.Response(202, json={"nudge_id": "x"})
    noted = admin.post(
        f"/admin/programs/{P}/pairs/m-1/notes",
        data={"text": "Met HR"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert noted.status_code == 303 and noted.headers["location"].endswith("/health#pair-m-1")
    assert json.loads(fake.calls[-1].content) == {"text": "Met HR"}
    nudged = admin.post(
        f"/admin/programs/{P}/pairs/m-1/nudge", data={"message": ""}, headers=ORIGIN, follow_redirects=False
    )
    assert nudged.status_code == 303
    assert fake.calls[-1].url.path.endswith("/nudge") and json.loads(fake.calls[-1].content) == {
        "message": None
    }
    calls = len(fake.calls)
    admin.post(
        f"/admin/programs/{P}/pairs/m-1/notes", data={"text": "  "}, headers=ORIGIN, follow_redirects=False
    )
    assert len(fake.calls) == calls  # nothing sent


def test_the_outcomes_page_draws_what_it_may_and_withholds_the_rest(admin: TestClient, fake):
    fake.routes["GET", f"/v1/programs/{P}/outcomes"] = httpx.Response(200, json=OUTCOMES)
    page = admin.get(f"/admin/programs/{P}/outcomes")
    assert page.status_code == 200, page.text
    assert 'id="chart-goals"' in page.text and 'data-label="yes" data-value="50"' in page.text
    assert 'data-label="Kafka" data-value="1.50"' in page.text
    assert "Would recommend: fewer than 3 answers (2 so far)" in page.text
    assert 'id="chart-recommend"' not in page.text
    rust = page.text.split("Rust</th>")[1].split("</tr>")[0]
    assert "fewer than 3 answers" in rust


def test_outcome_charts_never_draw_a_withheld_figure():
    charts = outcome_charts(OUTCOMES | {"goals_achieved": WITHHELD})
    assert set(charts) == {"level_gain", "satisfaction"}
    assert [bar.label for bar in charts["level_gain"].bars] == ["Kafka"]
    assert [bar.label for bar in charts["satisfaction"].bars] == ["final"]
    assert [c.chart_id for c in health_charts(HEALTH | {"pulse": WITHHELD})] == ["chart-health"]


def test_learned_weights_show_intervals_and_apply_puts_the_services_proposal(admin: TestClient, fake):
    fake.routes["GET", f"/v1/programs/{P}/weights/learned"] = httpx.Response(200, json=LEARNED)
    fake.routes["PUT", f"/v1/programs/{P}/weights"] = httpx.Response(200, json=PROGRAM)
    page = admin.get(f"/admin/programs/{P}/weights")
    assert page.status_code == 200, page.text
    assert "-0.100 to 0.140" in page.text and "the proposal ranks held-out pairs better" in page.text
    applied = admin.post(f"/admin/programs/{P}/weights/apply", headers=ORIGIN, follow_redirects=False)
    assert applied.status_code == 303
    put = fake.calls[-1]
    assert put.method == "PUT" and json.loads(put.content) == LEARNED["proposed_weights"]


def test_too_few_outcomes_say_how_many_more_and_nothing_can_be_applied(admin: TestClient, fake):
    fake.routes["GET", f"/v1/programs/{P}/weights/learned"] = httpx.Response(
        200,
        json={
            "program_id": P,
            "status": "insufficient",
            "outcomes_used": 12,
            "needed": 30,
            "more_needed": 18,
        },
    )
    page = admin.get(f"/admin/programs/{P}/weights")
    assert "<strong>18 more</strong>" in page.text and "Apply the proposed weights" not in page.text
    admin.post(f"/admin/programs/{P}/weights/apply", headers=ORIGIN, follow_redirects=False)
    assert all(call.method == "GET" for call in fake.calls)


def test_a_csv_export_is_fetched_with_the_admins_token_and_handed_on(admin: TestClient, fake):
    body = "mentorship_id,mentor_name\r\nm-1,Zoë\r\n".encode()
    fake.routes["GET", f"/v1/programs/{P}/pairs.csv"] = httpx.Response(
        200,
        content=body,
        headers={
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": 'attachment; filename="p-1-pairs.csv"',
        },
    )
    answer = admin.get(f"/admin/programs/{P}/exports/pairs.csv")
    assert answer.status_code == 200 and answer.content == body
    assert answer.headers["content-disposition"] == 'attachment; filename="p-1-pairs.csv"'
    assert fake.calls[-1].headers["authorization"].startswith("Bearer ")
    assert admin.get(f"/admin/programs/{P}/exports/secrets.csv").status_code == 404


def test_an_employee_cannot_open_the_insight_pages(admin: TestClient, fake):
    admin.cookies.set(SESSION_COOKIE, mint_dev_token(SECRET, sub="e-1", roles=["employee"]))
    for page in ("health", "outcomes", "weights", "exports/pairs.csv"):
        assert admin.get(f"/admin/programs/{P}/{page}").status_code == 403
    assert fake.calls == []
