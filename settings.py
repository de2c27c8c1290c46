"""All configuration, read from environment variables (docs/DESIGN.md §6, "Settings")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://switchboard.db"
    redis_url: str | None = None
    smtp_url: str | None = None
    smtp_from: str = "Switchboard <inbox@switchboard.local>"
    public_base_url: str = "http://127.0.0.1:8000"
    twilio_api_base_url: str = "https://api.twilio.com"
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v21.0"
    secret_key: str = "development-secret-key-change-me"
    email_coalesce_seconds: int = 300
    allowed_origins: list[str] = field(default_factory=list)
    env: str = "development"
    whatsapp_new_installs: bool = True
    send_retry_seconds: float = 10.0
    template_sync_seconds: float = 3600.0  # R-TEMPLATE: each WhatsApp app's templates synced this often; 0: never
    max_body_bytes: int = 1_000_000
    max_query_depth: int = 12
    max_query_tokens: int = 2_000
    max_query_aliases: int = 30
    max_query_nodes: int = 50_000
    max_subscriptions_per_connection: int = 20
    subscriber_queue_size: int = 1_000
    subscriber_write_buffer_bytes: int = 1_000_000  # unsent bytes on a socket before its subscriptions end
    subscription_render_budget_ms: int = 500
    ingest_batch_size: int = 64  # webhooks written in one transaction, at most (PostgreSQL)
    ingest_batch_ms: float = 2.0  # how long a batch stays open for more webhooks after its first
    redis_channel: str = "switchboard:events"
    websocket_ping_seconds: float = 15.0
    websocket_recheck_seconds: float = 1.0
    executor: str = "planner"  # "planner" (compiled plans) or "reference" (Strawberry on graphql-core)
    plan_cache_size: int = 1_000  # documents whose plans are kept
    persisted_queries_size: int = 10_000  # APQ documents kept, by hash
    session_days: int = 14  # a signIn token's life (R-SIGNIN)
    password_time_cost: int = 3  # Argon2id iterations; changing either rehashes on the next sign-in
    password_memory_kib: int = 65_536  # Argon2id memory (RFC 9106's second recommendation)
    sign_in_window_seconds: int = 900  # failures are counted per window
    sign_in_failures_per_email: int = 10
    sign_in_failures_per_address: int = 30
    files_dir: str = "files"  # the directory file store, when FILES_URL is unset
    files_url: str | None = None  # s3://bucket/prefix: S3-compatible object storage
    files_s3_endpoint_url: str | None = None  # another S3-compatible service than AWS
    files_s3_region: str = "us-east-1"
    file_link_seconds: int = 3600  # how long a signed file URL given to a provider holds
    file_copy_seconds: float = 5.0  # how often inbound media is copied and expired files swept; 0: never
    max_inbound_file_bytes: int = 100_000_000  # a larger inbound file is not copied (UNAVAILABLE)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            files_dir=env.get("FILES_DIR") or defaults.files_dir,
            files_url=env.get("FILES_URL") or None,
            files_s3_endpoint_url=env.get("FILES_S3_ENDPOINT_URL") or None,
            files_s3_region=env.get("FILES_S3_REGION") or defaults.files_s3_region,
            file_link_seconds=int(env.get("FILE_LINK_SECONDS") or defaults.file_link_seconds),
            file_copy_seconds=float(env.get("FILE_COPY_SECONDS") or defaults.file_copy_seconds),
            max_inbound_file_bytes=int(env.get("MAX_INBOUND_FILE_BYTES") or defaults.max_inbound_file_bytes),
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            redis_url=env.get("REDIS_URL") or None,
            redis_channel=env.get("REDIS_CHANNEL") or defaults.redis_channel,
            websocket_ping_seconds=float(env.get("WEBSOCKET_PING_SECONDS") or defaults.websocket_ping_seconds),
            websocket_recheck_seconds=float(env.get("WEBSOCKET_RECHECK_SECONDS") or defaults.websocket_recheck_seconds),
            smtp_url=env.get("SMTP_URL") or None,
            smtp_from=env.get("SMTP_FROM") or defaults.smtp_from,
            public_base_url=(env.get("PUBLIC_BASE_URL") or defaults.public_base_url).rstrip("/"),
            twilio_api_base_url=(env.get("TWILIO_API_BASE_URL") or defaults.twilio_api_base_url).rstrip("/"),
            graph_api_base_url=(env.get("GRAPH_API_BASE_URL") or defaults.graph_api_base_url).rstrip("/"),
            graph_api_version=env.get("GRAPH_API_VERSION") or defaults.graph_api_version,
            secret_key=env.get("SECRET_KEY") or defaults.secret_key,
            email_coalesce_seconds=int(env.get("EMAIL_COALESCE_SECONDS") or defaults.email_coalesce_seconds),
            allowed_origins=_list(env.get("ALLOWED_ORIGINS")),
            env=env.get("SWITCHBOARD_ENV") or defaults.env,
            whatsapp_new_installs=_bool(env.get("WHATSAPP_NEW_INSTALLS"), True),
            send_retry_seconds=float(env.get("SEND_RETRY_SECONDS") or defaults.send_retry_seconds),
            template_sync_seconds=float(env.get("TEMPLATE_SYNC_SECONDS") or defaults.template_sync_seconds),
            max_body_bytes=int(env.get("MAX_BODY_BYTES") or defaults.max_body_bytes),
            executor=(env.get("SWITCHBOARD_EXECUTOR") or defaults.executor).strip().lower(),
            plan_cache_size=int(env.get("PLAN_CACHE_SIZE") or defaults.plan_cache_size),
            persisted_queries_size=int(env.get("PERSISTED_QUERIES_SIZE") or defaults.persisted_queries_size),
            max_query_nodes=int(env.get("MAX_QUERY_NODES") or defaults.max_query_nodes),
            session_days=int(env.get("SESSION_DAYS") or defaults.session_days),
            password_time_cost=int(env.get("PASSWORD_TIME_COST") or defaults.password_time_cost),
            password_memory_kib=int(env.get("PASSWORD_MEMORY_KIB") or defaults.password_memory_kib),
            sign_in_window_seconds=int(env.get("SIGN_IN_WINDOW_SECONDS") or defaults.sign_in_window_seconds),
            sign_in_failures_per_email=int(
                env.get("SIGN_IN_FAILURES_PER_EMAIL") or defaults.sign_in_failures_per_email
            ),
            sign_in_failures_per_address=int(
                env.get("SIGN_IN_FAILURES_PER_ADDRESS") or defaults.sign_in_failures_per_address
            ),
            subscriber_write_buffer_bytes=int(
                env.get("SUBSCRIBER_WRITE_BUFFER_BYTES") or defaults.subscriber_write_buffer_bytes
            ),
            subscription_render_budget_ms=int(
                env.get("SUBSCRIPTION_RENDER_BUDGET_MS") or defaults.subscription_render_budget_ms
            ),
            ingest_batch_size=max(1, int(env.get("INGEST_BATCH_SIZE") or defaults.ingest_batch_size)),
            ingest_batch_ms=float(env.get("INGEST_BATCH_MS") or defaults.ingest_batch_ms),
        )


_current: Settings | None = None


def get_settings() -> Settings:
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def use_settings(settings: Settings) -> None:
    """Makes `settings` the process-wide configuration (the app factory and tests call it)."""
    global _current
    _current = settings
