from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError
from tandem_chassis.auth import AuthError, JwtVerifier, mint_dev_token
from tandem_chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit
SECRET = "a-dev-secret-of-reasonable-length-0123"


def _pem(private) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_dev_tokens_are_accepted_in_dev_mode():
    verifier = JwtVerifier(ServiceSettings(env="dev", jwt_secret=SECRET))
    principal = verifier.verify(mint_dev_token(SECRET, sub="e-1", roles=["employee", "superuser"]))
    assert principal.sub == "e-1"
    assert principal.roles == {"employee"}, "unknown roles are dropped"


def test_dev_tokens_are_refused_outside_dev_mode():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = ServiceSettings(env="prod", jwt_secret=SECRET, jwt_public_key=_pem(key))
    with pytest.raises(AuthError, match="only in dev mode"):
        JwtVerifier(settings).verify(mint_dev_token(SECRET, sub="e-1", roles=["employee"]))


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_asymmetric_tokens_are_verified_against_the_public_key(algorithm, make_key):
    key, other = make_key(), make_key()
    verifier = JwtVerifier(ServiceSettings(env="prod", jwt_public_key=_pem(key)))
    claims = {"sub": "admin-1", "roles": ["program_admin"], "exp": 4102444800}
    assert verifier.verify(jwt.encode(claims, key, algorithm=algorithm)).roles == {"program_admin"}
    with pytest.raises(AuthError, match="Signature"):
        verifier.verify(jwt.encode(claims, other, algorithm=algorithm))


def test_expired_and_claimless_tokens_are_refused():
    verifier = JwtVerifier(ServiceSettings(env="dev", jwt_secret=SECRET))
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(mint_dev_token(SECRET, sub="e-1", roles=[], ttl=timedelta(seconds=-5)))
    with pytest.raises(AuthError, match="exp"):
        verifier.verify(jwt.encode({"sub": "e-1"}, SECRET, algorithm="HS256"))
    with pytest.raises(AuthError):
        verifier.verify("not-a-token")


def test_production_refuses_to_start_without_a_verification_key():
    with pytest.raises(ValidationError, match="TANDEM_JWT_JWKS_URL"):
        ServiceSettings(env="prod", jwt_secret=SECRET)
