"""Production settings pass Django's deploy check; the API documents itself with assets served locally."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_overrides):
    inherited = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        env_overrides={"DEBUG": "0", "SECRET_KEY": "x7" * 30 + "-prod-like-secret", "ALLOWED_HOSTS": "sj.example.cn"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env_overrides={"DEBUG": "0", "ALLOWED_HOSTS": "sj.example.cn"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_openapi_lists_the_foundation_operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ["/api/v1/auth/login", "/api/v1/auth/sms-code", "/api/v1/auth/register", "/api/v1/auth/refresh",
                 "/api/v1/auth/logout", "/api/v1/me", "/api/v1/notifications"]:
        assert path in paths, path
    assert "BearerAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_docs_page_uses_local_assets_only(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
