"""The console against fake services (httpx.MockTransport): error mapping, sessions, roles, CSRF."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from tandem_chassis.auth import mint_dev_token
from tandem_console.api import readable_detail
from tandem_console.app import build_app
from tandem_console.config import Settings
from tandem_console.session import SESSION_COOKIE, safe_next

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-for-dev-mode-0123456789"
ORIGIN = {"origin": "http://testserver"}
Handler = Callable[[httpx.Request], httpx.Response]


class FakeServices:
    """Routes (method, path) to canned answers and records every call the console made."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], httpx.Response] = {}
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.routes.get((request.method, request.url.path))
        if answer is None:
            return httpx.Response(404, json={"detail": f"no fake for {request.method} {request.url.path}"})
        return answer


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


def _client(settings: Settings, fake: FakeServices) -> Iterator[TestClient]:
    with TestClient(build_app(settings, transport=httpx.MockTransport(fake))) as client:
        yield client


@pytest.fixture
def console(fake: FakeServices) -> Iterator[TestClient]:
    yield from _client(Settings(env="dev", jwt_secret=SECRET), fake)


def _sign_in(client: TestClient, sub: str = "e-1", *roles: str) -> None:
    client.cookies.set(SESSION_COOKIE, mint_dev_token(SECRET, sub=sub, roles=list(roles or ["employee"])))


def test_a_page_without_a_session_redirects_to_sign_in_and_comes_back_after(console: TestClient):
    answer = console.get("/me/profile", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=/me/profile"
    token = mint_dev_token(SECRET, sub="e-1", roles=["employee"])
    signed = console.post(
        "/signin", data={"token": token, "next": "/me/inbox"}, headers=ORIGIN, follow_redirects=False
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/me/inbox"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_the_services_receive_the_users_own_token(console: TestClient, fake: FakeServices):
    fake.routes["GET", "/v1/employees/e-1/notifications"] = httpx.Response(
        200, json={"items": [], "next_cursor": None, "unread_count": 0}
    )
    _sign_in(console, "e-1")
    assert console.get("/me/inbox").status_code == 200
    sent = fake.calls[-1].headers["authorization"].removeprefix("Bearer ")
    assert jwt.decode(sent, SECRET, algorithms=["HS256"])["sub"] == "e-1"


def test_a_refusal_from_a_service_is_shown_as_its_message_not_a_server_error(
    console: TestClient, fake: FakeServices
):
    fake.routes["POST", "/v1/mentorships"] = httpx.Response(
        409, json={"detail": {"reason": "no_capacity", "message": "mentor e-9 has no free capacity"}}
    )
    fake.routes["GET", "/v1/mentees/e-1/suggestions"] = httpx.Response(
        200, json={"mentee_id": "e-1", "suggestions": []}
    )
    _sign_in(console, "e-1")
    answer = console.post("/me/mentorships", data={"mentor_id": "e-9"}, headers=ORIGIN)
    assert answer.status_code == 200 and answer.url.path == "/me/suggestions"
    assert "The request was not sent: mentor e-9 has no free capacity" in answer.text
    assert json.loads(fake.calls[0].content) == {"mentee_id": "e-1", "mentor_id": "e-9", "message": None}


def test_a_missing_profile_is_a_readable_404_page(console: TestClient, fake: FakeServices):
    fake.routes["GET", "/v1/profiles/e-1"] = httpx.Response(
        404, json={"detail": "no profile for employee e-1"}
    )
    _sign_in(console, "e-1")
    answer = console.get("/me/profile")
    assert answer.status_code == 404
    assert "profiles: no profile for employee e-1" in answer.text and "<!doctype html>" in answer.text


def test_an_unreachable_service_is_a_503_page(fake: FakeServices):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    settings = Settings(env="dev", jwt_secret=SECRET)
    with TestClient(build_app(settings, transport=httpx.MockTransport(down))) as client:
        _sign_in(client, "e-1")
        answer = client.get("/me/suggestions")
    assert answer.status_code == 503
    assert "the matching service is not reachable" in answer.text


def test_a_token_the_service_rejects_ends_the_session(console: TestClient, fake: FakeServices):
    fake.routes["GET", "/v1/profiles/e-1"] = httpx.Response(401, json={"detail": "invalid token: expired"})
    _sign_in(console, "e-1")
    answer = console.get("/me/profile", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"] or "Max-Age=0" in str(answer.headers)


def test_validation_errors_read_as_field_and_message():
    body = {
        "detail": [
            {"loc": ["body", "skills", 0, "level"], "msg": "Input should be less than or equal to 5"},
            {"loc": ["body", "bio"], "msg": "too long"},
        ]
    }
    assert (
        readable_detail(body, 422) == "skills.0.level: Input should be less than or equal to 5; bio: too long"
    )
    assert readable_detail({"detail": "nope"}, 403) == "nope"
    assert readable_detail(None, 502) == "the request was refused (HTTP 502)"


def test_profile_form_becomes_a_patch_and_a_refusal_keeps_the_user_on_the_form(
    console: TestClient, fake: FakeServices
):
    fake.routes["PATCH", "/v1/profiles/e-1"] = httpx.Response(
        409, json={"detail": "profile e-1 is inactive: changes are refused"}
    )
    fake.routes["GET", "/v1/profiles/e-1"] = httpx.Response(
        200, json={"employee_id": "e-1", "version": 1, "status": "inactive"}
    )
    _sign_in(console, "e-1")
    form = {
        "roles": ["mentee"],
        "skills": "Python: 4",
        "goals": "Kafka: 2, SQL",
        "interests": "chess, Climbing",
        "mentor_capacity": "0",
        "department_preference": "other",
    }
    answer = console.post("/me/profile", data=form, headers=ORIGIN)
    assert answer.url.path == "/me/profile" and "profile e-1 is inactive" in answer.text
    patch = json.loads(next(c for c in fake.calls if c.method == "PATCH").content)
    assert patch["roles"] == ["mentee"] and patch["goals"] == [
        {"name": "Kafka", "level": 2},
        {"name": "SQL", "level": 3},
    ]
    assert patch["preferences"] == {"department": "other"} and patch["interests"] == ["chess", "Climbing"]


def test_posts_from_another_origin_or_without_one_are_refused(console: TestClient, fake: FakeServices):
    _sign_in(console, "e-1")
    foreign = console.post("/me/inbox/n-1/read", headers={"origin": "http://evil.example"})
    missing = console.post("/me/inbox/n-1/read")
    by_referer = console.post(
        "/me/inbox/n-1/read", headers={"referer": "http://testserver/me/inbox"}, follow_redirects=False
    )
    assert foreign.status_code == 403 and missing.status_code == 403
    assert by_referer.status_code == 303
    assert [c.url.path for c in fake.calls] == ["/v1/notifications/n-1/read"]


def test_admin_and_operations_pages_need_the_admin_role(console: TestClient):
    _sign_in(console, "e-1", "employee")
    for path in ("/admin/programs", "/ops"):
        answer = console.get(path)
        assert answer.status_code == 403 and "program_admin" in answer.text


def test_the_round_report_draws_its_three_charts_from_the_report(console: TestClient, fake: FakeServices):
    report = {
        "program_id": "p-1",
        "round_id": "r-1",
        "status": "completed",
        "started_at": "2025-01-01T00:00:00Z",
        "matched": 3,
        "pairs": [
            {"mentee_id": "a", "mentor_id": "m", "score": 0.81},
            {"mentee_id": "b", "mentor_id": "m", "score": 0.42},
            {"mentee_id": "c", "mentor_id": "n", "score": 0.85},
        ],
        "unmatched": [{"mentee_id": "d", "reason": "no_eligible_mentor"}],
        "unmatched_reasons": {"no_eligible_mentor": 1},
        "total_score": 2.08,
        "mean_score": 0.69,
        "min_score": 0.42,
        "mentor_load": {"0": 1, "1": 1, "2": 1},
    }
    fake.routes["GET", "/v1/programs/p-1/rounds/r-1"] = httpx.Response(200, json=report)
    _sign_in(console, "admin", "program_admin")
    page = console.get("/admin/programs/p-1/rounds/r-1")
    assert page.status_code == 200
    for chart_id in ("chart-scores", "chart-load", "chart-outcome"):
        assert f'id="{chart_id}"' in page.text
    assert 'data-label="0.8-0.9" data-value="2"' in page.text
    assert 'data-label="matched" data-value="3"' in page.text
    assert 'data-label="unmatched: no eligible mentor" data-value="1"' in page.text
    assert '<dd id="matched-count">3</dd>' in page.text


def test_open_redirects_are_refused():
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("https://evil.example") == "/"
    assert safe_next("/\\evil") == "/"
    assert safe_next("/me/inbox?x=1") == "/me/inbox?x=1"


def _rsa_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def test_in_prod_there_is_no_dev_login_dev_tokens_are_refused_and_rs256_tokens_sign_in(fake: FakeServices):
    private, public = _rsa_pair()
    settings = Settings(env="prod", jwt_public_key=public, jwt_secret=SECRET)
    for client in _client(settings, fake):
        assert client.get("/dev/login").status_code == 404
        assert client.post("/dev/login", data={"employee_id": "x"}, headers=ORIGIN).status_code == 404
        assert client.get("/", follow_redirects=False).headers["location"] == "/signin"
        dev = mint_dev_token(SECRET, sub="e-1", roles=["employee"])
        refused = client.post("/signin", data={"token": dev}, headers=ORIGIN, follow_redirects=False)
        assert refused.status_code == 401 and "only in dev mode" in refused.text
        now = datetime.now(UTC)
        real = jwt.encode(
            {"sub": "e-1", "roles": ["employee"], "exp": now + timedelta(hours=1)}, private, algorithm="RS256"
        )
        signed = client.post("/signin", data={"token": real}, headers=ORIGIN, follow_redirects=False)
        assert signed.status_code == 303
        assert "secure" in signed.headers["set-cookie"].lower()


def test_the_links_in_notification_emails_open_the_matching_console_pages(console: TestClient):
    expected = {
        "/profile": "/me/profile",
        "/suggestions": "/me/suggestions",
        "/mentorships/r-1.e 2": "/me/mentorships/r-1.e%202",
        "/settings/notifications": "/me/settings",
    }
    for link, page in expected.items():
        answer = console.get(link, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, page)


def test_notification_settings_show_the_current_ones_and_save_the_form_as_a_put(
    console: TestClient, fake: FakeServices
):
    path = "/v1/employees/e-1/preferences"
    fake.routes["GET", path] = httpx.Response(
        200, json={"channels": {"email": False}, "muted_types": ["checkin_reminder"]}
    )
    fake.routes["PUT", path] = httpx.Response(200, json={"channels": {}, "muted_types": []})
    _sign_in(console, "e-1")
    page = console.get("/me/settings").text
    assert 'id="channel-email" name="channels" value="email" >' in page
    assert 'value="inapp" checked' in page and 'value="checkin_reminder" checked' in page

    form = {"channels": ["email"], "muted": ["welcome", "not-a-kind"]}
    answer = console.post("/me/settings", data=form, headers=ORIGIN)
    assert answer.url.path == "/me/settings" and "Notification settings saved." in answer.text
    put = json.loads(next(c for c in fake.calls if c.method == "PUT").content)
    assert put == {"channels": {"email": True, "inapp": False}, "muted_types": ["welcome"]}


def test_the_settings_page_offers_every_kind_and_channel_the_notifications_service_knows():
    from tandem_console.pages.employee import CHANNELS, KINDS
    from tandem_notifications.domain.kinds import KINDS as SERVICE_KINDS
    from tandem_notifications.domain.preferences import PERSONAL_CHANNELS

    assert set(KINDS) == set(SERVICE_KINDS) and set(CHANNELS) == set(PERSONAL_CHANNELS)


def test_a_bug_in_a_page_is_a_readable_500_and_is_logged_with_its_traceback(fake: FakeServices):
    fake.routes["GET", "/v1/mentees/e-1/suggestions"] = httpx.Response(200, json={"mentee_id": "e-1"})
    app = build_app(Settings(env="dev", jwt_secret=SECRET), transport=httpx.MockTransport(fake))
    with TestClient(app, raise_server_exceptions=False) as client, structlog.testing.capture_logs() as logs:
        _sign_in(client)
        answer = client.get("/me/suggestions")

    assert answer.status_code == 500
    assert "Something went wrong" in answer.text and "KeyError" not in answer.text
    (failure,) = [entry for entry in logs if entry["event"] == "console page failed"]
    assert isinstance(failure["exc_info"], KeyError)
