"""Configuration: the environment variables of shared/interface.md, read once in `main`."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DECIDER_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_EMOJI_NAME = re.compile(r"^[a-z0-9_+\-']+$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLACK_SCOPES"
    )
    database_url: str = Field(default="sqlite:///requestbot.db", validation_alias="DATABASE_URL")
    capture_emoji: str | None = Field(
        default=None, validation_alias="REQUESTBOT_CAPTURE_EMOJI"
    )
    deciders: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="REQUESTBOT_DECIDERS"
    )
    log_format: str = Field(
        default="auto", validation_alias=AliasChoices("REQUESTBOT_LOG_FORMAT", "log_format")
    )
    sweep_interval_seconds: int = Field(
        default=60, ge=1, validation_alias="REQUESTBOT_SWEEP_INTERVAL_SECONDS"
    )
    # reminders: what is raised when, and the weekly digest
    stale_days: int = Field(default=14, ge=1, validation_alias="REQUESTBOT_STALE_DAYS")
    follow_up_hours: int = Field(default=48, ge=1, validation_alias="REQUESTBOT_FOLLOW_UP_HOURS")
    deal_close_days: int = Field(default=7, ge=0, validation_alias="REQUESTBOT_DEAL_CLOSE_DAYS")
    digest_channel: str | None = Field(default=None, validation_alias="REQUESTBOT_DIGEST_CHANNEL")
    digest_day: str = Field(default="mon", validation_alias="REQUESTBOT_DIGEST_DAY")
    digest_hour: int = Field(default=9, ge=0, le=23, validation_alias="REQUESTBOT_DIGEST_HOUR")
    quiet_weekends: bool = Field(default=True, validation_alias="REQUESTBOT_QUIET_WEEKENDS")
    new_evidence_revenue_growth: float = Field(
        default=0.5, gt=0, validation_alias="REQUESTBOT_NEW_EVIDENCE_REVENUE_GROWTH"
    )
    # demand and priority (issue 5): similar requests, currency conversion, the priority score
    similarity: Literal["lexical", "semantic", "auto"] = Field(
        default="lexical", validation_alias="REQUESTBOT_SIMILARITY"
    )
    base_currency: str = Field(default="USD", validation_alias="REQUESTBOT_BASE_CURRENCY")
    fx_rates: Annotated[dict[str, Decimal], NoDecode] = Field(
        default_factory=dict, validation_alias="REQUESTBOT_FX_RATES"
    )
    priority_weights: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, validation_alias="REQUESTBOT_PRIORITY_WEIGHTS"
    )
    # operations (issue 7): what happens to a workspace's data when the app is uninstalled
    on_uninstall: Literal["keep", "delete"] = Field(
        default="keep", validation_alias="REQUESTBOT_ON_UNINSTALL"
    )

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?/$", value):
            raise ValueError("a http(s) URL ending in '/', e.g. https://slack.com/api/")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("a bot token starting with 'xoxb-'")
        return value or None

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError("an app-level token starting with 'xapp-'")
        return value or None

    @field_validator("capture_emoji")
    @classmethod
    def _emoji(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().strip(":")
        if not _EMOJI_NAME.match(value):
            raise ValueError("an emoji name without colons, e.g. 'bulb'")
        return value

    @field_validator("digest_channel")
    @classmethod
    def _digest_channel(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.match(r"^[CG][A-Z0-9]{2,}$", value.strip()):
            raise ValueError("a Slack channel id (C…), e.g. C0123456789")
        return value.strip()

    @field_validator("digest_day")
    @classmethod
    def _digest_day(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError("a day of the week, e.g. mon")
        return day

    @field_validator("base_currency")
    @classmethod
    def _base_currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not re.match(r"^[A-Z]{3}$", value):
            raise ValueError("an ISO 4217 currency code, e.g. USD")
        return value

    @field_validator("fx_rates", "priority_weights", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """`EUR=1.08,GBP=1.27` -> {"EUR": "1.08", "GBP": "1.27"}."""
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, number = part.partition("=")
            if not sep or not name.strip() or not number.strip():
                raise ValueError(f"comma-separated NAME=number pairs, e.g. EUR=1.08; got {part!r}")
            pairs[name.strip()] = number.strip()
        return pairs

    @field_validator("fx_rates")
    @classmethod
    def _fx_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        rates = {}
        for currency, rate in value.items():
            code = currency.upper()
            if not re.match(r"^[A-Z]{3}$", code) or not rate.is_finite() or rate <= 0:
                raise ValueError(f"CODE=rate pairs with positive rates, e.g. EUR=1.08; got {currency}")
            rates[code] = rate
        return rates

    @field_validator("priority_weights")
    @classmethod
    def _priority_weights(cls, value: dict[str, float]) -> dict[str, float]:
        from bot.services.priority import WEIGHT_NAMES

        for name, weight in value.items():
            if name not in WEIGHT_NAMES or not 0 <= weight <= 100:
                raise ValueError(
                    f"name=weight pairs with names among {', '.join(WEIGHT_NAMES)} and weights "
                    f"from 0 to 100; got {name}={weight}"
                )
        return value

    @field_validator("deciders", "slack_scopes", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("deciders")
    @classmethod
    def _decider_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _DECIDER_ID.match(item):
                raise ValueError(
                    f"comma-separated Slack user ids (U…, W…) or user group ids (S…); got {item!r}"
                )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError("a SQLAlchemy URL, e.g. sqlite:///requestbot.db") from None
        return value

    @model_validator(mode="after")
    def _oauth_all_or_nothing(self) -> Settings:
        oauth = [self.slack_client_id, self.slack_client_secret]
        if any(oauth) and not all(oauth):
            missing = "SLACK_CLIENT_ID" if not self.slack_client_id else "SLACK_CLIENT_SECRET"
            raise ValueError(f"{missing}: required together with the other OAuth settings")
        return self

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def require_serving(self) -> None:
        """Checks what `serve` needs beyond well-formed values."""
        if self.socket_mode:
            if not self.slack_bot_token and not self.oauth_enabled:
                raise ConfigError("SLACK_BOT_TOKEN is required: a bot token starting with 'xoxb-'")
            return
        if not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is required in HTTP mode: the app's signing secret "
                "from Basic Information in the Slack app settings"
            )
        if not self.slack_bot_token and not self.oauth_enabled:
            raise ConfigError(
                "SLACK_BOT_TOKEN is required: a bot token starting with 'xoxb-' "
                "(or configure SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SCOPES for OAuth)"
            )
        if self.oauth_enabled and not self.slack_scopes:
            raise ConfigError("SLACK_SCOPES is required with OAuth: comma-separated bot scopes")


_ALIASES = {
    name: (field.validation_alias if isinstance(field.validation_alias, str) else name.upper())
    for name, field in Settings.model_fields.items()
}


def load_settings(**overrides: object) -> Settings:
    """Builds Settings, turning a validation error into one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        variable = _ALIASES.get(field, field.upper())
        message = first["msg"].removeprefix("Value error, ")
        if message.startswith(variable):
            raise ConfigError(message) from None
        raise ConfigError(f"{variable} is malformed: expected {message}") from None
