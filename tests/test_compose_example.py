"""`examples/docker-compose.yml` (README → "More than one machine") parses and says what README says."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import REPO

COMPOSE = REPO / "examples" / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_two_replicas_share_one_postgresql() -> None:
    services = _compose()["services"]
    replicas = [name for name, spec in services.items() if "DATABASE_URL" in spec.get("environment", {})]
    assert replicas == ["bot-a", "bot-b"]
    for name in replicas:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert float(env["LEASE_SECONDS"]) > 0 and int(env["DATABASE_POOL_SIZE"]) >= 2
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_the_proxy_spreads_over_both_replicas() -> None:
    command = _compose()["services"]["proxy"]["command"]
    assert "--to bot-a:3000" in command and "--to bot-b:3000" in command


def test_no_secret_is_written_in_the_file() -> None:
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "xoxb-" not in text and "xapp-" not in text
