"""Every non-health endpoint of every service refuses what it must, and lets the right caller in.

The endpoints come from each app's OpenAPI, so a new one is covered at once: the test fails
until its path parameters and its legitimate caller are listed below. The services run
in-process (ASGI) on the real broker and store with TANDEM_ENV=prod and an RS256 public key
(HS256 refused); the same matrix then runs with the verifier configured for ES256 and for
dev mode (HS256 tokens).
"""

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from tandem_chassis.auth import JwtVerifier, mint_dev_token
from tandem_chassis.testing import eventually, publish_event
from tandem_contracts import EmployeeJoined, MentorshipAccepted, topics
from tandem_matching.bootstrap import build_app as build_matching
from tandem_matching.config import Settings as MatchingSettings
from tandem_notifications.bootstrap import build_app as build_notifications
from tandem_notifications.config import Settings as NotificationsSettings
from tandem_profiles.bootstrap import build_app as build_profiles
from tandem_profiles.config import Settings as ProfilesSettings
from tandem_relationships.bootstrap import build_app as build_relationships
from tandem_relationships.config import Settings as RelationshipsSettings

pytestmark = pytest.mark.integration

VICTIM, MENTOR, INTRUDER = "e-victim", "e-mentor", "e-intruder"
ADMIN, HR = "admin-1", "hr-bot"
UNPROTECTED = ("/health/", "/metrics")
Principal = tuple[str, tuple[str, ...]]


def EMPLOYEE(sub: str) -> Principal:  # noqa: N802 (reads as a constant: the employee principal)
    return sub, ("employee",)


@dataclass
class Keys:
    """The signing side of the test's identity provider."""

    mode: str
    secret: str
    private_pem: bytes | None = None
    public_pem: str | None = None
    algorithm: str = "HS256"
    other_private_pem: bytes | None = None

    def token(
        self, sub: str, roles: tuple[str, ...], *, ttl: timedelta = timedelta(hours=1), **extra: Any
    ) -> str:
        if self.mode == "dev":
            return mint_dev_token(self.secret, sub=sub, roles=list(roles), ttl=ttl)
        now = datetime.now(UTC)
        claims = {"sub": sub, "roles": list(roles), "iat": now, "exp": now + ttl} | extra
        return jwt.encode(claims, self.private_pem, algorithm=self.algorithm)  # type: ignore[arg-type]

    def refused_tokens(self) -> dict[str, str | None]:
        """Tokens this mode must refuse with 401, by what is wrong with them."""
        every_role = ("employee", "program_admin", "hr_integration")
        later = datetime.now(UTC) + timedelta(hours=1)
        claims = {"sub": VICTIM, "roles": list(every_role)}
        signing_key = self.secret.encode() if self.mode == "dev" else self.private_pem
        tokens: dict[str, str | None] = {
            "no token": None,
            "not a JWT": "this-is-not-a-jwt",
            "expired": self.token(VICTIM, every_role, ttl=-timedelta(minutes=5)),
            "no exp claim": jwt.encode(claims, signing_key, algorithm=self.algorithm),  # type: ignore[arg-type]
            "no sub claim": jwt.encode(
                {"roles": list(every_role), "exp": later}, signing_key, algorithm=self.algorithm
            ),  # type: ignore[arg-type]
            "roles not a list": jwt.encode(
                claims | {"roles": "program_admin", "exp": later},
                signing_key,  # type: ignore[arg-type]
                algorithm=self.algorithm,
            ),
            "alg none": jwt.encode(claims | {"exp": later}, None, algorithm="none"),
            "tampered payload": _tamper(self.token(VICTIM, ("employee",)), claims | {"exp": later}),
        }
        if self.mode == "dev":
            tokens["wrong signature"] = mint_dev_token(
                "another-secret-0123456789-abcdef", sub=VICTIM, roles=list(every_role)
            )
        else:
            assert self.public_pem is not None
            tokens["wrong signature"] = jwt.encode(
                claims | {"exp": later}, self.other_private_pem, algorithm=self.algorithm
            )  # type: ignore[arg-type]
            tokens["dev HS256 token in prod"] = mint_dev_token(
                self.secret, sub=VICTIM, roles=list(every_role)
            )
            # The classic algorithm confusion: HMAC keyed with the (public) verification key.
            tokens["HS256 keyed with the public key"] = _hs256(
                claims | {"exp": later}, self.public_pem.encode()
            )
        return tokens


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JWT signed by hand (PyJWT refuses PEM keys as HMAC secrets, attackers do not)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, default=lambda t: int(t.timestamp())).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tamper(token: str, claims: dict[str, Any]) -> str:
    """A real token whose payload was swapped for more powerful claims, signature kept."""
    header, _, signature = token.split(".")
    payload = _b64(json.dumps(claims, default=lambda t: int(t.timestamp())).encode())
    return f"{header}.{payload}.{signature}"


def _pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def keys_for(mode: str, secret: str) -> Keys:
    if mode == "dev":
        return Keys("dev", secret)
    if mode == "prod-rs256":
        key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
        algorithm = "RS256"
    else:
        key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        algorithm = "ES256"
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(mode, secret, _pem(key), public.decode(), algorithm, _pem(other))


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient


@dataclass
class World:
    keys: Keys
    services: dict[str, Service]
    ids: dict[str, str]  # path parameter -> a real resource of the victim's

    def headers(self, principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.token(*principal)}"}


@contextlib.asynccontextmanager
async def services(service_settings, keys: Keys) -> AsyncIterator[dict[str, Service]]:
    security: dict[str, Any] = {"env": "dev"}
    if keys.mode != "dev":
        security = {"env": "prod", "jwt_public_key": keys.public_pem, "jwt_algorithms": [keys.algorithm]}
    # The matrix sends hundreds of refused tokens from one address, each of which must be a 401;
    # the 429 that repeated failures earn is tested in test_http_edge.py.
    security["http_limit_auth_failures"] = False
    builders = (
        ("profiles", ProfilesSettings, build_profiles, {}),
        ("matching", MatchingSettings, build_matching, {"pool_refresh_interval_s": 0.3}),
        (
            "notifications",
            NotificationsSettings,
            build_notifications,
            {"smtp_port": 1, "dispatcher_poll_interval_s": 0.2},
        ),
        ("relationships", RelationshipsSettings, build_relationships, {}),
    )
    async with contextlib.AsyncExitStack() as stack:
        running = {}
        for name, settings_class, build, extra in builders:
            app = build(service_settings(settings_class, name, **security, **extra))
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
            running[name] = Service(name, app, client)
        yield running


@contextlib.asynccontextmanager
async def build_world(service_settings, isolated_settings, mode: str) -> AsyncIterator[World]:
    keys = keys_for(mode, isolated_settings["TANDEM_JWT_SECRET"])
    async with services(service_settings, keys) as running:
        world = World(keys, running, {})
        profiles, matching, notifications = (
            running[n].client for n in ("profiles", "matching", "notifications")
        )
        bootstrap = isolated_settings["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]
        hr_topic = isolated_settings["TANDEM_KAFKA_TOPIC_PREFIX"] + topics.HR_EMPLOYEES
        await publish_event(
            bootstrap,
            hr_topic,
            *(
                EmployeeJoined(employee_id=e, email=f"{e}@example.com", display_name=e, languages=["en"])
                for e in (VICTIM, MENTOR, INTRUDER)
            ),
        )

        async def known() -> bool:
            answers = [
                await profiles.get(f"/v1/profiles/{e}", headers=world.headers(EMPLOYEE(e)))
                for e in (VICTIM, MENTOR)
            ]
            return all(a.status_code == 200 for a in answers)

        await eventually(known, "the employees in profiles")
        mentor_patch = {"roles": ["mentor"], "skills": [{"name": "python", "level": 4}], "mentor_capacity": 3}
        mentee_patch = {"roles": ["mentee"], "goals": [{"name": "python", "level": 3}]}
        for employee, patch in ((MENTOR, mentor_patch), (VICTIM, mentee_patch)):
            answer = await profiles.patch(
                f"/v1/profiles/{employee}", json=patch, headers=world.headers(EMPLOYEE(employee))
            )
            assert answer.status_code == 200, answer.text

        async def requested() -> str | None:
            answer = await matching.post(
                "/v1/mentorships",
                json={"mentee_id": VICTIM, "mentor_id": MENTOR, "message": "hello"},
                headers=world.headers(EMPLOYEE(VICTIM)),
            )
            return answer.json()["mentorship_id"] if answer.status_code == 201 else None

        world.ids["mentorship_id"] = await eventually(requested, "a mentorship request")
        program = await matching.post(
            "/v1/programs", json={"name": "Auth matrix"}, headers=world.headers((ADMIN, ("program_admin",)))
        )
        assert program.status_code == 201, program.text
        world.ids["program_id"] = program.json()["program_id"]
        world.ids |= await open_relationship(
            world, bootstrap, isolated_settings, world.ids["mentorship_id"], world.ids["program_id"]
        )

        async def inbox() -> str | None:
            answer = await notifications.get(
                f"/v1/employees/{VICTIM}/notifications", headers=world.headers(EMPLOYEE(VICTIM))
            )
            items = answer.json()["items"] if answer.status_code == 200 else []
            return items[0]["id"] if items else None

        world.ids["notification_id"] = await eventually(inbox, "a notification in the victim's inbox")
        hook = await notifications.post(
            "/v1/webhooks",
            json={
                "url": "https://hooks.example.com/x",
                "secret": "s" * 32,
                "event_types": ["mentorship.accepted"],
            },
            headers=world.headers((ADMIN, ("program_admin",))),
        )
        assert hook.status_code == 201, hook.text
        world.ids["webhook_id"] = hook.json()["id"]
        world.ids |= {
            "employee_id": VICTIM,
            "user_id": VICTIM,
            "group_id": "g-missing",
            "round_id": "r-missing",
            "name": "User",
            "uri": "urn:ietf:params:scim:schemas:core:2.0:User",
        }
        yield world


async def open_relationship(
    world: World, bootstrap: str, isolated_settings: dict[str, str], mentorship_id: str, program_id: str
) -> dict[str, str]:
    """The pair's relationship in the admin's program, as an accepted mentorship opens it
    (matching's proposal stays proposed: matching does not read its own topic), with a goal and
    a session in it."""
    accepted = MentorshipAccepted(
        mentorship_id=mentorship_id,
        mentor_id=MENTOR,
        mentee_id=VICTIM,
        program_id=program_id,
        status="accepted",
    )
    await publish_event(
        bootstrap, isolated_settings["TANDEM_KAFKA_TOPIC_PREFIX"] + topics.MENTORSHIPS, accepted
    )
    relationships = world.services["relationships"].client
    victim = world.headers(EMPLOYEE(VICTIM))
    base = f"/v1/mentorships/{mentorship_id}"

    async def opened() -> bool:
        return (await relationships.get(f"{base}/relationship", headers=victim)).status_code == 200

    await eventually(opened, "the relationship of the accepted mentorship")
    admin = world.headers(ADMIN_P)

    async def program_known() -> bool:
        health = await relationships.get(f"/v1/programs/{program_id}/health", headers=admin)
        return health.status_code == 200

    await eventually(program_known, "the program and its admin in relationships")
    agreement = await relationships.put(f"{base}/agreement", json=AGREEMENT, headers=victim)
    assert agreement.status_code == 200, agreement.text
    session = await relationships.post(f"{base}/sessions", json=SESSION, headers=victim)
    assert session.status_code == 201, session.text
    return {"session_id": session.json()["session_id"], "goal_id": "python"}


# --- the endpoints -----------------------------------------------------------------------------------

AGREEMENT = {"goals": [{"name": "Python", "current_level": 2, "target_level": 4}], "cadence": "weekly"}
SESSION = {"starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(), "minutes": 30}
REL = "/v1/mentorships/{mentorship_id}"

SCIM_USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "externalId": VICTIM,
    "userName": f"{VICTIM}@example.com",
    "displayName": "Victim Renamed",
}
SCIM_PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "displayName", "value": "Patched"}],
}
# Request bodies acting on the victim's data.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/v1/profiles/{employee_id}"): {"bio": "written by someone else"},
    ("POST", "/scim/v2/Users"): SCIM_USER | {"externalId": "e-new", "userName": "new@example.com"},
    ("PUT", "/scim/v2/Users/{user_id}"): SCIM_USER,
    ("PATCH", "/scim/v2/Users/{user_id}"): SCIM_PATCH,
    ("POST", "/scim/v2/Users/.search"): {"filter": f'externalId eq "{VICTIM}"'},
    ("POST", "/scim/v2/Groups"): {"displayName": "Not yours", "members": [{"value": VICTIM}]},
    ("PUT", "/scim/v2/Groups/{group_id}"): {"displayName": "Not yours"},
    ("PATCH", "/scim/v2/Groups/{group_id}"): SCIM_PATCH,
    ("POST", "/scim/v2/Groups/.search"): {},
    ("POST", "/scim/v2/.search"): {},
    ("POST", "/v1/mentorships"): {"mentee_id": VICTIM, "mentor_id": MENTOR},
    ("POST", "/v1/mentorships/{mentorship_id}/end"): {"reason": "cancelled"},
    ("POST", "/v1/programs"): {"name": "Not yours"},
    ("POST", "/v1/programs/{program_id}/enrollments"): {"mentee_ids": [VICTIM]},
    ("PUT", "/v1/employees/{employee_id}/preferences"): {"channels": {"email": False}, "muted_types": []},
    ("POST", "/v1/webhooks"): {
        "url": "https://attacker.example.com/",
        "secret": "a" * 32,
        "event_types": ["mentorship.accepted"],
    },
    ("PUT", f"{REL}/agreement"): AGREEMENT | {"expectations": "written by someone else"},
    ("POST", f"{REL}/agreement/sign"): {"version": 1},
    ("POST", f"{REL}/sessions"): SESSION,
    ("PATCH", f"{REL}/sessions/{{session_id}}"): {"agenda": "changed by someone else"},
    ("POST", f"{REL}/sessions/{{session_id}}/log"): {"happened": True},
    ("PUT", f"{REL}/sessions/{{session_id}}/private-notes"): {"text": "someone else's note"},
    ("PATCH", f"{REL}/goals/{{goal_id}}"): {"progress": 99},
    ("POST", f"{REL}/feedback"): {"kind": "session", "session_rating": 1},
    ("POST", f"{REL}/admin-notes"): {"text": "an admin's note"},
    ("POST", f"{REL}/nudge"): {"message": "time to meet"},
    ("PUT", "/v1/programs/{program_id}/weights"): {"goal_fit": 0.5, "seniority": 0.5},
}
# Query strings where an endpoint needs one to do anything.
QUERIES: dict[tuple[str, str], dict[str, str]] = {("GET", "/v1/names"): {"id": VICTIM}}
SCIM = ("hr-bot", ("hr_integration",))
ADMIN_P = (ADMIN, ("program_admin",))
# Who may call each endpoint on the victim's resources (one legitimate caller is enough).
LEGITIMATE: dict[tuple[str, str], Principal] = {
    ("GET", "/v1/profiles/{employee_id}"): EMPLOYEE(VICTIM),
    ("PATCH", "/v1/profiles/{employee_id}"): EMPLOYEE(VICTIM),
    ("DELETE", "/v1/profiles/{employee_id}"): (HR, ("hr_integration",)),
    ("GET", "/v1/profiles"): ADMIN_P,
    ("GET", "/v1/names"): EMPLOYEE(INTRUDER),
    ("GET", "/scim/v2/Users"): SCIM,
    ("POST", "/scim/v2/Users"): SCIM,
    ("GET", "/scim/v2/Users/{user_id}"): SCIM,
    ("PUT", "/scim/v2/Users/{user_id}"): SCIM,
    ("PATCH", "/scim/v2/Users/{user_id}"): SCIM,
    ("DELETE", "/scim/v2/Users/{user_id}"): SCIM,
    ("POST", "/scim/v2/Users/.search"): SCIM,
    ("GET", "/scim/v2/Groups"): SCIM,
    ("POST", "/scim/v2/Groups"): SCIM,
    ("GET", "/scim/v2/Groups/{group_id}"): SCIM,
    ("PUT", "/scim/v2/Groups/{group_id}"): SCIM,
    ("PATCH", "/scim/v2/Groups/{group_id}"): SCIM,
    ("DELETE", "/scim/v2/Groups/{group_id}"): SCIM,
    ("POST", "/scim/v2/Groups/.search"): SCIM,
    ("POST", "/scim/v2/.search"): SCIM,
    ("GET", "/scim/v2/ServiceProviderConfig"): SCIM,
    ("GET", "/scim/v2/ResourceTypes"): SCIM,
    ("GET", "/scim/v2/ResourceTypes/{name}"): SCIM,
    ("GET", "/scim/v2/Schemas"): SCIM,
    ("GET", "/scim/v2/Schemas/{uri}"): SCIM,
    ("GET", "/v1/mentees/{employee_id}/suggestions"): EMPLOYEE(VICTIM),
    ("POST", "/v1/mentorships"): EMPLOYEE(VICTIM),
    ("GET", "/v1/mentorships"): ADMIN_P,
    ("POST", "/v1/mentorships/{mentorship_id}/accept"): EMPLOYEE(MENTOR),
    ("POST", "/v1/mentorships/{mentorship_id}/decline"): EMPLOYEE(MENTOR),
    ("POST", "/v1/mentorships/{mentorship_id}/end"): EMPLOYEE(VICTIM),
    ("GET", "/v1/mentorships/{mentorship_id}"): EMPLOYEE(VICTIM),
    ("POST", "/v1/programs"): ADMIN_P,
    ("GET", "/v1/programs"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}"): ADMIN_P,
    ("POST", "/v1/programs/{program_id}/enrollments"): ADMIN_P,
    ("POST", "/v1/programs/{program_id}/rounds"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/weights/learned"): ADMIN_P,
    ("PUT", "/v1/programs/{program_id}/weights"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/rounds/{round_id}"): ADMIN_P,
    ("GET", "/v1/employees/{employee_id}/notifications"): EMPLOYEE(VICTIM),
    ("POST", "/v1/notifications/{notification_id}/read"): EMPLOYEE(VICTIM),
    ("GET", "/v1/employees/{employee_id}/preferences"): EMPLOYEE(VICTIM),
    ("PUT", "/v1/employees/{employee_id}/preferences"): EMPLOYEE(VICTIM),
    ("GET", "/v1/webhooks"): ADMIN_P,
    ("POST", "/v1/webhooks"): ADMIN_P,
    ("DELETE", "/v1/webhooks/{webhook_id}"): ADMIN_P,
    ("PUT", f"{REL}/agreement"): EMPLOYEE(VICTIM),
    ("POST", f"{REL}/agreement/sign"): EMPLOYEE(VICTIM),
    ("POST", f"{REL}/sessions"): EMPLOYEE(VICTIM),
    ("PATCH", f"{REL}/sessions/{{session_id}}"): EMPLOYEE(VICTIM),
    ("POST", f"{REL}/sessions/{{session_id}}/cancel"): EMPLOYEE(VICTIM),
    ("POST", f"{REL}/sessions/{{session_id}}/log"): EMPLOYEE(VICTIM),
    ("PUT", f"{REL}/sessions/{{session_id}}/private-notes"): EMPLOYEE(VICTIM),
    ("PATCH", f"{REL}/goals/{{goal_id}}"): EMPLOYEE(MENTOR),
    ("POST", f"{REL}/feedback"): EMPLOYEE(VICTIM),
    ("GET", f"{REL}/relationship"): ADMIN_P,
    ("GET", "/v1/relationships"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/health"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/outcomes"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/pairs.csv"): ADMIN_P,
    ("GET", "/v1/programs/{program_id}/feedback.csv"): ADMIN_P,
    ("GET", f"{REL}/admin-notes"): ADMIN_P,
    ("POST", f"{REL}/admin-notes"): ADMIN_P,
    ("POST", f"{REL}/nudge"): ADMIN_P,
    ("GET", "/v1/employees/{employee_id}/feedback-requests"): EMPLOYEE(VICTIM),
    ("GET", "/v1/employees/{employee_id}/calendar.ics"): EMPLOYEE(VICTIM),
    ("GET", "/v1/employees/{employee_id}/calendar-feed"): EMPLOYEE(VICTIM),
    ("POST", "/v1/employees/{employee_id}/calendar-feed/rotate"): EMPLOYEE(VICTIM),
}
# An employee acting on the victim's things is refused with 403, except where "not yours"
# is answered as "not found" so that others' ids are not confirmed.
HIDDEN_AS_404 = {("POST", "/v1/notifications/{notification_id}/read")}
# Open to every signed-in colleague, like an org directory: display names only.
DIRECTORY = {("GET", "/v1/names")}
# Destructive calls go last in the "gets through" pass, so the others still find their data.
LAST = [
    ("POST", f"{REL}/sessions/{{session_id}}/cancel"),
    ("POST", "/v1/mentorships/{mentorship_id}/decline"),
    ("DELETE", "/scim/v2/Users/{user_id}"),
    ("DELETE", "/v1/profiles/{employee_id}"),
]


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    path_params: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def url(self, ids: dict[str, str]) -> str:
        missing = [p for p in self.path_params if p not in ids]
        assert not missing, f"{self.key}: a new path parameter {missing}: give the test a real value for it"
        return self.path.format(**{p: ids[p] for p in self.path_params})


def operations(world: World) -> list[Operation]:
    found = []
    for name, service in world.services.items():
        for path, methods in service.app.openapi()["paths"].items():
            if path.startswith(UNPROTECTED):
                continue
            for method, spec in methods.items():
                params = tuple(p["name"] for p in spec.get("parameters", []) if p["in"] == "path")
                found.append(Operation(name, method.upper(), path, params))
    return found


async def call(
    world: World, op: Operation, token: str | None, ids: dict[str, str] | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await world.services[op.service].client.request(
        op.method,
        op.url(ids or world.ids),
        json=BODIES.get(op.key),
        params=QUERIES.get(op.key),
        headers=headers,
    )


def test_every_endpoint_is_in_the_matrix(service_settings):
    # Built without starting: only the OpenAPI documents are read.
    apps = {
        "profiles": build_profiles(service_settings(ProfilesSettings, "profiles")),
        "matching": build_matching(service_settings(MatchingSettings, "matching")),
        "notifications": build_notifications(service_settings(NotificationsSettings, "notifications")),
        "relationships": build_relationships(service_settings(RelationshipsSettings, "relationships")),
    }
    found = {
        (method.upper(), path)
        for app in apps.values()
        for path, methods in app.openapi()["paths"].items()
        if not path.startswith(UNPROTECTED)
        for method in methods
    }
    assert found == set(LEGITIMATE), f"new or removed endpoints: {found ^ set(LEGITIMATE)}"
    assert len(found) == 44 + 25  # + relationships' 22, profiles' names, matching's learned weights


async def refuses_missing_expired_forged_and_wrong_kind_tokens(world: World) -> list[str]:
    refused = world.keys.refused_tokens()
    if world.keys.mode != "dev":
        assert {"dev HS256 token in prod", "HS256 keyed with the public key"} <= set(refused)
    failures = []
    for op in operations(world):
        for why, token in refused.items():
            answer = await call(world, op, token)
            if answer.status_code != 401:
                failures.append(f"{op.method} {op.path} with {why}: {answer.status_code} {answer.text[:200]}")
            elif "bearer" not in answer.headers.get("www-authenticate", "").lower():
                failures.append(f"{op.method} {op.path} with {why}: 401 without WWW-Authenticate: Bearer")
    return failures


async def refuses_an_employee_acting_on_someone_elses_data(world: World) -> list[str]:
    intruder = world.keys.token(*EMPLOYEE(INTRUDER))
    failures = []
    for op in operations(world):
        answer = await call(world, op, intruder)
        if op.key in DIRECTORY:
            if answer.status_code != 200 or set(answer.json()) != {"names"}:
                failures.append(
                    f"{op.method} {op.path} as a colleague: {answer.status_code} {answer.text[:200]}"
                )
            continue
        allowed = {403, 404} if op.key in HIDDEN_AS_404 else {403}
        if answer.status_code not in allowed:
            failures.append(
                f"{op.method} {op.path} as another employee: {answer.status_code} {answer.text[:200]}"
            )
    # The party that may not: the mentee accepting (only the mentor accepts), a mentee
    # requesting in someone else's name, an employee listing everyone's mentorships.
    matching = world.services["matching"].client
    mentorship = world.ids["mentorship_id"]
    victim = world.headers(EMPLOYEE(VICTIM))
    accept = await matching.post(f"/v1/mentorships/{mentorship}/accept", headers=victim)
    assert accept.status_code == 403, accept.text
    as_other = await matching.post(
        "/v1/mentorships", json={"mentee_id": MENTOR, "mentor_id": VICTIM}, headers=victim
    )
    assert as_other.status_code == 403, as_other.text
    listed = await matching.get("/v1/mentorships", headers=victim)
    assert listed.status_code == 403, listed.text
    # Nothing changed on the victim's side.
    state = await matching.get(f"/v1/mentorships/{mentorship}", headers=victim)
    assert state.json()["status"] == "proposed"
    inbox = await world.services["notifications"].client.get(
        f"/v1/employees/{VICTIM}/notifications", headers=victim
    )
    assert inbox.json()["unread_count"] >= 1 and all(not item["read"] for item in inbox.json()["items"])
    profile = await world.services["profiles"].client.get(f"/v1/profiles/{VICTIM}", headers=victim)
    assert profile.json()["bio"] is None and profile.json()["status"] == "active"
    relationship = await world.services["relationships"].client.get(
        f"/v1/mentorships/{mentorship}/relationship", headers=victim
    )
    shown = relationship.json()
    assert [v["terms"]["expectations"] for v in shown["agreement"]["versions"]] == [None]
    assert [(s["status"], s["agenda"], s["private_notes"]) for s in shown["sessions"]] == [
        ("scheduled", None, {})
    ]
    return failures


async def admits_the_legitimate_caller(world: World, *, reads_only: bool = False) -> list[str]:
    """Every endpoint (or every GET) lets its legitimate caller in: neither 401/403 nor 5xx."""
    ordered = sorted(operations(world), key=lambda op: LAST.index(op.key) if op.key in LAST else -1)
    if reads_only:
        ordered = [op for op in ordered if op.method == "GET"]
    failures = []
    for op in ordered:
        principal = LEGITIMATE[op.key]
        answer = await call(world, op, world.keys.token(*principal))
        if answer.status_code in (401, 403) or answer.status_code >= 500:
            failures.append(f"{op.method} {op.path} as {principal}: {answer.status_code} {answer.text[:200]}")
    return failures


def use_keys(world: World, keys: Keys) -> None:
    """Point every service's token verifier at ``keys``' settings (what a restart would do)."""
    for service in world.services.values():
        settings = service.app.state.settings
        if keys.mode == "dev":
            update: dict[str, Any] = {"env": "dev", "jwt_public_key": None}
        else:
            update = {"env": "prod", "jwt_public_key": keys.public_pem, "jwt_algorithms": [keys.algorithm]}
        service.app.state.jwt_verifier = JwtVerifier(settings.model_copy(update=update))
    world.keys = keys


async def test_every_endpoint_refuses_bad_tokens_and_other_employees_and_admits_the_right_caller(
    service_settings, isolated_settings
):
    # The services run with TANDEM_ENV=prod and an RS256 public key; the matrix is then run
    # again with the verifier set up for ES256 and for dev mode (HS256), on the same data.
    async with build_world(service_settings, isolated_settings, "prod-rs256") as world:
        assert all(s.app.state.settings.env == "prod" for s in world.services.values())
        assert len(operations(world)) == len(LEGITIMATE)
        production = world.keys
        for keys in (
            production,
            keys_for("prod-es256", production.secret),
            keys_for("dev", production.secret),
        ):
            use_keys(world, keys)
            bad_tokens = await refuses_missing_expired_forged_and_wrong_kind_tokens(world)
            assert not bad_tokens, f"{keys.mode}:\n" + "\n".join(bad_tokens)
            intruders = await refuses_an_employee_acting_on_someone_elses_data(world)
            assert not intruders, f"{keys.mode}:\n" + "\n".join(intruders)
            readers = await admits_the_legitimate_caller(world, reads_only=True)
            assert not readers, f"{keys.mode}:\n" + "\n".join(readers)
        use_keys(world, production)
        admitted = await admits_the_legitimate_caller(world)
        assert not admitted, "\n".join(admitted)
