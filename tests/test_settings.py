"""Settings: every key is documented in .env.example and reaches the pipeline's options."""

import re
from pathlib import Path

from bot.main import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_setting() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    expected = {name.upper() for name in Settings.model_fields}
    assert expected == documented


def test_env_example_values_are_valid_settings(monkeypatch) -> None:
    settings = Settings(_env_file=ROOT / ".env.example")
    assert settings.llm_model == ""
    assert settings.transcriber_config().batch_size == 4


def test_settings_reach_pipeline_options(monkeypatch) -> None:
    monkeypatch.setenv("LLM_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setenv("LLM_API_KEY", "sk-test")
    monkeypatch.setenv("WHISPER_BEAM_SIZE", "1")
    monkeypatch.setenv("MAX_MEDIA_MB", "2")
    settings = Settings(_env_file=None)
    assert settings.llm_config().model == "openai:gpt-4o-mini"
    assert settings.llm_config().api_key == "sk-test"
    assert "sk-test" not in repr(settings)
    assert settings.transcriber_config().beam_size == 1
    assert settings.transcriber_config().max_bytes == 2 * 1024 * 1024


def test_empty_values_mean_default(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("WHISPER_BEAM_SIZE", "")
    settings = Settings(_env_file=None)
    assert settings.slack_bot_token is None
    assert settings.whisper_beam_size == 5


def test_self_hosted_llm_needs_no_key(monkeypatch) -> None:
    monkeypatch.setenv("LLM_MODEL", "openai:qwen2.5")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    assert Settings(_env_file=None).llm_config().api_key == "not-needed"
