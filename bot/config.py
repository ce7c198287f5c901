"""The core's settings, read from the environment and `.env`; the adapters declare their
own (`adapters/<name>/settings.py`), and bot/main.py composes all into the one `Settings`.

Nothing reads os.environ at import time: `Settings()` is called in the entry point and
passed down. Every key is listed, with its default, in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.features.items.reminder_times import QuietHours
from summarizer.config import LLMConfig, TranscriberConfig
from summarizer.languages import normalize_language

if TYPE_CHECKING:
    from bot.trackers.registry import TrackerConfig

# Every settings class (the core's and each adapter's) reads the same sources.
SETTINGS_CONFIG = SettingsConfigDict(
    env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
)


class CoreSettings(BaseSettings):
    """The core's keys. Each adapter declares its own (`adapters/<name>/settings.py`);
    the composition root (bot/main.py) joins them into `Settings`."""

    model_config = SETTINGS_CONFIG

    # Storage
    database_url: str = "sqlite:///./data/balafon.db"
    data_dir: str = "./data"
    encryption_key: SecretStr | None = None  # Fernet key for tokens at rest

    # Summarization: empty LLM_MODEL = the offline engine
    llm_model: str = ""
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_chunk_tokens: int = Field(default=6000, ge=500)
    # The language of recaps (a code such as fr, or a name); empty: the conversation's
    recap_language: str = ""

    # Transcription: empty WHISPER_MODEL = the bundled tiny.en model (English only);
    # "multilingual" = Whisper base from the `multilingual` extra (99 languages)
    whisper_model: str = ""
    whisper_device: str = "auto"
    whisper_compute_type: str = "default"
    whisper_cpu_threads: int = Field(default=0, ge=0)
    whisper_beam_size: int = Field(default=5, ge=1)
    whisper_batch_size: int = Field(default=4, ge=1)
    whisper_language: str | None = None  # a code (fr) or auto/empty: detect
    whisper_word_timestamps: bool = True
    whisper_window_seconds: float = Field(default=600.0, ge=30)
    max_media_mb: int = Field(default=500, ge=1)
    max_media_minutes: int = Field(default=240, ge=1)
    # Speaker labels on recordings ("Speaker 1", …), offline (summarizer/speakers): on|off
    diarization: bool = True

    # Digests
    # A digest missed while the server was down is posted once at start-up if it is at
    # most this late (older ones are skipped: the next digest covers their messages).
    digest_grace_minutes: int = Field(default=360, ge=1)
    digest_post_when_quiet: bool = False  # post "nothing new" rather than nothing

    # Reminders of action items (README: "Reminders"), privately to each item's owner: this
    # many hours before the due date (its 17:00, owner's time zone) and on the first working
    # morning it is overdue; 0 turns reminders off. Never inside QUIET_HOURS (owner's local
    # time, may wrap midnight; empty or "off": none).
    reminder_hours_before: float = Field(default=24.0, ge=0, le=24 * 14)
    quiet_hours: str = "20:00-08:00"

    # Data governance: stored messages, transcripts and recaps older than this are deleted
    # (hourly); a channel's `retention N` overrides it. None: keep until `forget`.
    retention_days: int | None = Field(default=None, ge=1)
    # Transcripts of API uploads (GET /v1/jobs/{id}) are deleted this long after they finish.
    api_result_hours: float = Field(default=24.0, gt=0)
    # Remember the voice of each speaker people name, per workspace, so that later
    # recordings name them by themselves (README: "Voice profiles"). Off: no voice is kept.
    voice_profiles: bool = False
    # Who may `forget` or set `retention` in any channel besides the platform's admins and
    # channel owners: comma-separated user ids, optionally `platform:id` (slack:U123).
    admin_users: str = ""

    # Issue trackers (docs/trackers.md): a channel's `link github|jira|linear …` exports its
    # items there and the tracker's webhook brings their status back. Each token is sent
    # only to its own base URL (https, or http on loopback).
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise: https://HOST/api/v3
    github_webhook_secret: SecretStr | None = None
    jira_url: str = ""  # https://your-site.atlassian.net
    jira_email: str = ""
    jira_api_token: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    jira_issue_type: str = "Task"
    linear_api_key: SecretStr | None = None
    linear_api_url: str = "https://api.linear.app/graphql"
    linear_webhook_secret: SecretStr | None = None
    # Export every item of a linked channel when a recap first reports it (else: the
    # item's "Create issue" button)
    auto_export: bool = False

    # HTTP API (/v1) and the local playground (/)
    # The secret that opens the playground (`/?token=`) and /v1 (Bearer). Unset: `serve`
    # makes one at each start and prints it; set it to share one between web processes.
    access_token: SecretStr | None = None
    api_token: SecretStr | None = None  # another Bearer token for /v1 (for other tools)

    # Jobs: a job whose worker stops renewing its lease for this long is run again elsewhere
    job_lease_seconds: float = Field(default=120.0, ge=2)
    # False: `serve` only answers requests; separate `balafon worker` processes run the jobs
    serve_runs_worker: bool = True
    # False: digests and retention sweeps fire from a `balafon scheduler` process instead
    serve_runs_scheduler: bool = True
    # inprocess: workers poll the database (in `serve`, or `balafon worker` processes).
    # celery: `serve` sends each job to a Celery queue on CELERY_BROKER_URL (Redis) and
    # `balafon worker [--queue transcribe|default]` processes run them.
    job_executor: Literal["inprocess", "celery"] = "inprocess"
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    # Jobs run at once by one `balafon worker` process (Celery threads, or in-process slots)
    worker_concurrency: int = Field(default=2, ge=1)
    # Transcriptions run at once by one process (its media thread pool)
    transcribe_concurrency: int = Field(default=2, ge=1)
    # A job sent to the broker but not started after this long is sent again (a message
    # lost with a broker restart); a job whose worker died is re-sent once its lease ends.
    celery_resend_seconds: float = Field(default=600.0, ge=1)

    # Operations: the /admin status page is off unless this is set (HTTP Basic password)
    admin_token: SecretStr | None = None
    # /metrics needs `Authorization: Bearer <this>` when set; unset: open, for a private
    # network only (Prometheus scraping from inside the deployment)
    metrics_token: SecretStr | None = None

    # Behaviour
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, for collectors

    @field_validator("whisper_language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        return normalize_language(value)  # ValueError: pydantic reports it

    @field_validator("github_api_url", "jira_url", "linear_api_url")
    @classmethod
    def _tracker_url(cls, value: str) -> str:
        from bot.trackers.client import check_base_url

        return check_base_url(value) if value.strip() else ""

    def tracker_config(self) -> TrackerConfig:
        from bot.trackers.registry import TrackerConfig

        def secret(value: SecretStr | None) -> str:
            return value.get_secret_value() if value else ""

        return TrackerConfig(
            github_token=secret(self.github_token),
            github_api_url=self.github_api_url or "https://api.github.com",
            github_webhook_secret=secret(self.github_webhook_secret),
            jira_url=self.jira_url,
            jira_email=self.jira_email,
            jira_api_token=secret(self.jira_api_token),
            jira_webhook_secret=secret(self.jira_webhook_secret),
            jira_issue_type=self.jira_issue_type,
            linear_api_key=secret(self.linear_api_key),
            linear_api_url=self.linear_api_url or "https://api.linear.app/graphql",
            linear_webhook_secret=secret(self.linear_webhook_secret),
            auto_export=self.auto_export,
        )

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)  # ValueError: pydantic reports it
        return value

    def admin_user_ids(self) -> list[str]:
        return [item.strip() for item in self.admin_users.split(",") if item.strip()]

    def transcriber_config(self) -> TranscriberConfig:
        return TranscriberConfig(
            model=self.whisper_model,
            model_cache_dir=str(Path(self.data_dir) / "models"),
            device=self.whisper_device,
            compute_type=self.whisper_compute_type,
            cpu_threads=self.whisper_cpu_threads,
            beam_size=self.whisper_beam_size,
            batch_size=self.whisper_batch_size,
            language=self.whisper_language or None,
            word_timestamps=self.whisper_word_timestamps,
            window_seconds=self.whisper_window_seconds,
            max_bytes=self.max_media_mb * 1024 * 1024,
            max_seconds=self.max_media_minutes * 60.0,
        )

    def llm_config(self) -> LLMConfig:
        api_key = self.llm_api_key.get_secret_value() if self.llm_api_key else None
        if api_key is None and self.llm_base_url:
            # Self-hosted OpenAI-compatible servers (vLLM, llama.cpp) need no key, but the
            # OpenAI client refuses to start without one.
            api_key = "not-needed"
        return LLMConfig(
            model=self.llm_model,
            base_url=self.llm_base_url or None,
            api_key=api_key,
            timeout_seconds=self.llm_timeout_seconds,
            max_retries=self.llm_max_retries,
            chunk_tokens=self.llm_chunk_tokens,
            recap_language=self.recap_language,
        )
