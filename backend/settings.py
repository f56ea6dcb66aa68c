"""Configuration from ``KORPU_*`` environment variables, with defaults that run on a laptop.

Secrets follow one rule: in ``dev`` and ``test`` a missing secret is generated once and kept under
``./var/secrets.json`` (``test`` keeps them in memory), in ``prod`` a missing secret stops startup
with :class:`ConfigError`, whose message is one line meant for the operator.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["ConfigError", "Secrets", "Settings", "get_settings"]

Environment = Literal["dev", "test", "prod"]
_ENVIRONMENTS: tuple[Environment, ...] = ("dev", "test", "prod")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """Configuration that cannot work; ``str(error)`` is a one-line explanation for the operator."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """Key material. Never logged, never committed."""

    secret_key: bytes
    """HMAC key for access tokens, blind indexes of personal data and request signatures."""
    data_keys: dict[int, bytes]
    """AES-256-GCM keys for personal data at rest, by version; the highest version encrypts."""
    ledger_signing_key: bytes
    """Ed25519 private key (32 raw bytes) that signs ledger checkpoints."""

    @property
    def current_data_key_version(self) -> int:
        return max(self.data_keys)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment."""

    env: Environment = "dev"
    """``dev`` (a laptop: generated secrets, dev-only routes), ``test`` or ``prod``."""
    database_url: str = "sqlite+aiosqlite:///./var/korpu.sqlite3"
    """SQLAlchemy async URL: ``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``."""
    host: str = "127.0.0.1"
    """Address ``korpu serve`` binds to."""
    port: int = 8000
    """Port ``korpu serve`` binds to."""
    workers: int = 1
    """Server processes for ``korpu serve``."""
    log_level: str = "INFO"
    """Minimum level of the JSON log lines."""
    var_dir: Path = Path("./var")
    """Where the laptop setup keeps its SQLite file and generated secrets."""
    redis_url: str | None = None
    """Redis for shared rate-limit and cache stores when more than one process runs."""
    trusted_proxies: str | None = None
    """Addresses of the load balancers in front of ``korpu serve`` (comma-separated, ``*`` for any):
    their ``X-Forwarded-For`` names the client, so per-client limits count clients, not the balancer."""
    quote_ttl_seconds: int = 1800
    """How long a quote's rate is guaranteed."""
    db_pool_size: int = 20
    """Connections per process on PostgreSQL."""
    group_commit_batch: int = 16
    """Most transfer creations (and, apart, partners' payout outcomes) a process commits in one
    transaction on PostgreSQL (group commit, :mod:`backend.group_commit`); 1 gives each its own
    transaction."""
    sms_url: str | None = None
    """The SMS gateway's send endpoint (required in prod); unset elsewhere means the dev inbox."""
    sms_token: str | None = field(default=None, repr=False)
    """Bearer token for the SMS gateway. Never logged."""
    dev_sms_inbox: bool = False
    """Serve ``GET /dev/sms``, the inbox of codes that were not really sent (on in dev; never in prod)."""
    demo_kyc_auto_approve: bool = False
    """Approve KYC submissions as soon as they arrive (when screening is clear): a demo switch, on by
    default in dev, refused in prod."""
    screening_refresh_seconds: int = 60
    """How often each process checks for a new screening list version."""
    ledger_retired_public_keys: tuple[bytes, ...] = ()
    """Ed25519 public keys (raw) of signing keys used before ``KORPU_LEDGER_SIGNING_KEY`` was
    rotated: checkpoints they signed still verify. Public, so not secrets."""
    profile_dir: Path | None = None
    """Where each server process writes a CPU-time profile between a SIGUSR1 and a SIGUSR2
    (:mod:`backend.profiling`, ``korpu bench e2e --profile``); unset, the signals are not handled."""
    secrets: Secrets = field(default_factory=lambda: _generate_secrets())
    """Key material; see :class:`Secrets`."""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read and validate the ``KORPU_*`` variables; raise :class:`ConfigError` on bad values."""
        env_vars = dict(os.environ if environ is None else environ)

        def get(name: str, default: str | None = None) -> str | None:
            return env_vars.get(f"KORPU_{name}", default)

        env = get("ENV", "dev")
        if env not in _ENVIRONMENTS:
            raise ConfigError(f"KORPU_ENV must be one of {', '.join(_ENVIRONMENTS)}, not {env!r}")
        var_dir = Path(get("VAR_DIR", "./var") or "./var")
        default_db = f"sqlite+aiosqlite:///{var_dir / 'korpu.sqlite3'}"
        database_url = get("DATABASE_URL", default_db) or default_db
        _check_database_url(database_url)
        port = _int(get("PORT", "8000"), "KORPU_PORT", low=1, high=65535)
        workers = _int(get("WORKERS", "1"), "KORPU_WORKERS", low=1, high=64)
        dev_sms_inbox = _flag(get("DEV_SMS_INBOX", "1" if env == "dev" else "0"), "KORPU_DEV_SMS_INBOX")
        log_level = (get("LOG_LEVEL", "INFO") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"KORPU_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {log_level!r}")
        loaded_secrets = _load_secrets(env, var_dir, get)  # type: ignore[arg-type]  # env checked above
        sms_url = get("SMS_URL") or None
        if env == "prod" and dev_sms_inbox:
            raise ConfigError("KORPU_DEV_SMS_INBOX cannot be on in prod")
        demo_kyc = _flag(
            get("DEMO_KYC_AUTO_APPROVE", "1" if env == "dev" else "0"), "KORPU_DEMO_KYC_AUTO_APPROVE"
        )
        if env == "prod" and demo_kyc:
            raise ConfigError("KORPU_DEMO_KYC_AUTO_APPROVE cannot be on in prod: officers review KYC")
        if env == "prod" and sms_url is None:
            raise ConfigError("missing KORPU_SMS_URL in prod: sign-in codes need an SMS gateway")
        return cls(
            env=env,  # type: ignore[arg-type]  # checked against _ENVIRONMENTS above
            database_url=database_url,
            host=get("HOST", "127.0.0.1") or "127.0.0.1",
            port=port,
            workers=workers,
            log_level=log_level,
            var_dir=var_dir,
            redis_url=get("REDIS_URL") or None,
            trusted_proxies=get("TRUSTED_PROXIES") or None,
            quote_ttl_seconds=_int(get("QUOTE_TTL_SECONDS", "1800"), "KORPU_QUOTE_TTL_SECONDS", 1, 86400),
            db_pool_size=_int(get("DB_POOL_SIZE", "20"), "KORPU_DB_POOL_SIZE", 1, 500),
            group_commit_batch=_int(get("GROUP_COMMIT_BATCH", "16"), "KORPU_GROUP_COMMIT_BATCH", 1, 256),
            sms_url=sms_url,
            sms_token=get("SMS_TOKEN") or None,
            dev_sms_inbox=dev_sms_inbox,
            demo_kyc_auto_approve=demo_kyc,
            screening_refresh_seconds=_int(
                get("SCREENING_REFRESH_SECONDS", "60"), "KORPU_SCREENING_REFRESH_SECONDS", 1, 86400
            ),
            ledger_retired_public_keys=tuple(
                _unb64(item.strip(), "KORPU_LEDGER_RETIRED_PUBLIC_KEYS", 32)
                for item in (get("LEDGER_RETIRED_PUBLIC_KEYS") or "").split(",")
                if item.strip()
            ),
            profile_dir=Path(profile_dir) if (profile_dir := get("PROFILE_DIR")) else None,
            secrets=loaded_secrets,
        )


def _int(raw: str | None, name: str, low: int, high: int) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {raw!r}")


def _check_database_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"KORPU_DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            "KORPU_DATABASE_URL must use sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"not {parsed.drivername}://"
        )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _unb64(text: str, name: str, length: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (ValueError, TypeError):
        raise ConfigError(f"{name} is not valid url-safe base64") from None
    if len(raw) != length:
        raise ConfigError(f"{name} must decode to {length} bytes, not {len(raw)}")
    return raw


def _generate_secrets() -> Secrets:
    return Secrets(
        secret_key=secrets.token_bytes(32),
        data_keys={1: secrets.token_bytes(32)},
        ledger_signing_key=secrets.token_bytes(32),
    )


_SECRET_VARS = ("SECRET_KEY", "DATA_KEYS", "LEDGER_SIGNING_KEY")


def _load_secrets(env: Environment, var_dir: Path, get: Callable[[str], str | None]) -> Secrets:
    """Secrets from the environment; in dev, fill the gaps from ``var/secrets.json`` (made once)."""
    values: dict[str, str] = {}
    for name in _SECRET_VARS:
        value = get(name)
        if value:
            values[name] = value
    missing = [name for name in _SECRET_VARS if name not in values]
    if missing and env == "prod":
        raise ConfigError(f"missing secret in prod: set KORPU_{missing[0]} (see docs/operations.md)")
    if missing and env == "dev":
        values = {**_dev_secrets_file(var_dir), **values}
    if missing and env == "test":
        generated = _generate_secrets()
        values = {
            "SECRET_KEY": _b64(generated.secret_key),
            "DATA_KEYS": f"1:{_b64(generated.data_keys[1])}",
            "LEDGER_SIGNING_KEY": _b64(generated.ledger_signing_key),
            **values,
        }
    return Secrets(
        secret_key=_unb64(values["SECRET_KEY"], "KORPU_SECRET_KEY", 32),
        data_keys=_parse_data_keys(values["DATA_KEYS"]),
        ledger_signing_key=_unb64(values["LEDGER_SIGNING_KEY"], "KORPU_LEDGER_SIGNING_KEY", 32),
    )


def _parse_data_keys(text: str) -> dict[int, bytes]:
    """``KORPU_DATA_KEYS`` is ``version:base64key[,version:base64key...]``."""
    keys: dict[int, bytes] = {}
    for item in text.split(","):
        version, sep, encoded = item.strip().partition(":")
        if not sep or not version.isdigit():
            raise ConfigError("KORPU_DATA_KEYS must look like '1:<base64 key>,2:<base64 key>'")
        keys[int(version)] = _unb64(encoded, f"KORPU_DATA_KEYS version {version}", 32)
    return keys


def _dev_secrets_file(var_dir: Path) -> dict[str, str]:
    path = var_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    generated = _generate_secrets()
    stored = {
        "SECRET_KEY": _b64(generated.secret_key),
        "DATA_KEYS": f"1:{_b64(generated.data_keys[1])}",
        "LEDGER_SIGNING_KEY": _b64(generated.ledger_signing_key),
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)
    return stored


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read once."""
    global _cached
    if _cached is None:
        _cached = Settings.from_env()
    return _cached
