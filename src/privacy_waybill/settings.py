"""Settings from the environment (``PWB_*``), resolved once at start-up.

Secrets are not settings: the master secret is read by the vault from ``PWB_MASTER_SECRET``
or from an owner-only file in ``PWB_HOME``, and refused when it is weak.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PWB_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Data folder: database, keys, logs.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home by default.")
    redis_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    carrier_prefix: str = Field(default="PW", pattern=r"^[A-Z]{2}$")
    masking_profile: str = "standard"
    routing_table: Path | None = Field(default=None, description="Routing CSV; the shipped demo table by default.")
    retention_days: int = Field(default=30, ge=1, le=3650)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_batch_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="JSON body limit of /orders/batch.")
    max_json_bytes: int = Field(default=64 * 1024, ge=1024, description="Body limit of every other route.")
    ticket_pattern: str = Field(
        default=r"T-\d{8}-\d{4,6}", description="The shape of a support ticket id (a regular expression)."
    )
    batch_chunk_size: int = Field(default=500, ge=1, le=10_000)
    reprint_limit: int = Field(default=3, ge=0, le=100, description="Reprints allowed per waybill.")
    risk_rules: Path | None = Field(
        default=None, description="Risk rules YAML; the shipped policies/risk.yaml by default."
    )
    risk_transport: Literal["inprocess", "redis"] = Field(
        default="inprocess",
        description=(
            "How the risk engine receives audit events: in the API process, or a Redis stream read by"
            " `pwb risk consume`. `pwb serve --workers N` (N > 1) in-process runs the one engine in its"
            " own process and has its workers publish to the stream."
        ),
    )
    risk_stream: str = Field(
        default="pwb:audit",
        min_length=1,
        max_length=200,
        description="The Redis stream of audit entries for the risk engine (one per platform sharing a Redis).",
    )
    purge_interval_minutes: int = Field(default=60, ge=1, le=10_080, description="How often `pwb serve` purges.")

    @field_validator("ticket_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error:
            raise ValueError("is not a regular expression") from None
        return value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise ValueError("PWB_REDIS_URL must be set when PWB_RISK_TRANSPORT=redis")
        return self.redis_url

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'pwb.sqlite3'}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def master_secret_file(self) -> Path:
        return self.home / "master.key"

    @property
    def audit_anchor_file(self) -> Path:
        """Signed audit heads, appended outside the database (see audit.anchors)."""
        return self.home / "audit-anchors.jsonl"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"


def load_settings() -> Settings:
    return Settings()
