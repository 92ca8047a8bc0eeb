from datetime import timedelta

import jwt
import pytest
from tandem_cli.errors import CliError
from tandem_cli.main import app
from tandem_cli.tokens import dev_token, find_repo_root, resolve_secret
from typer.testing import CliRunner

pytestmark = pytest.mark.unit

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def test_a_dev_token_decodes_with_the_secret_and_carries_the_roles():
    token = dev_token(sub="e-1", roles=["employee", "program_admin"], secret=SECRET, env={})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "e-1"
    assert claims["roles"] == ["employee", "program_admin"]
    assert claims["exp"] - claims["iat"] == 8 * 3600


def test_dev_tokens_are_refused_in_production():
    with pytest.raises(CliError, match="prod"):
        dev_token(sub="e-1", roles=["employee"], secret=SECRET, env={"TANDEM_ENV": "prod"})


def test_unknown_roles_are_refused():
    with pytest.raises(CliError, match="unknown role"):
        dev_token(sub="e-1", roles=["root"], secret=SECRET, env={})


def test_the_secret_comes_from_the_option_then_the_environment_then_the_repo(tmp_path):
    (tmp_path / "deploy" / "local").mkdir(parents=True)
    (tmp_path / "deploy" / "local" / "stack.py").write_text("")
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "dev-jwt-secret").write_text("from-the-file\n")
    deep = tmp_path / "services" / "x"
    deep.mkdir(parents=True)
    assert find_repo_root(deep) == tmp_path
    assert resolve_secret("explicit", env={"TANDEM_JWT_SECRET": "env"}, cwd=deep) == "explicit"
    assert resolve_secret(None, env={"TANDEM_JWT_SECRET": "env"}, cwd=deep) == "env"
    assert resolve_secret(None, env={}, cwd=deep) == "from-the-file"


def test_without_any_secret_the_error_says_how_to_get_one(tmp_path):
    with pytest.raises(CliError, match="make run"):
        resolve_secret(None, env={}, cwd=tmp_path)


def test_the_token_command_prints_a_token_and_refuses_prod(monkeypatch):
    runner = CliRunner()
    monkeypatch.delenv("TANDEM_ENV", raising=False)
    args = ["token", "--sub", "e-7", "--role", "employee", "--ttl-hours", "1", "--secret", SECRET]
    printed = runner.invoke(app, args)
    assert printed.exit_code == 0, printed.output
    claims = jwt.decode(printed.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "e-7"
    assert claims["exp"] - claims["iat"] == timedelta(hours=1).seconds
    monkeypatch.setenv("TANDEM_ENV", "prod")
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "prod" in refused.output
