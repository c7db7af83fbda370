"""What differs between the providers tech_writer can talk to, as data.

``openrouter`` and ``demo`` speak OpenRouter's dialect (usage with ``cost``, ``/generation``,
attribution headers); ``openai`` is the plain OpenAI API. ``demo`` is the built-in scripted model
served by :mod:`tech_writer.demo` on a loopback port: same wire format, simulated costs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tech_writer.errors import UsageError

__all__ = [
    "PROVIDERS",
    "PROVIDER_NAMES",
    "ProviderConfig",
    "get_provider",
    "resolve_api_key",
    "validate_model",
]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    key_env: str | None  # environment variable holding the key; None = no key needed
    default_base_url: str | None
    default_model: str
    track_cost_default: bool
    openrouter_dialect: bool  # sends attribution headers, reads usage.cost, may query /generation
    model_needs_slash: bool  # OpenRouter model ids are "provider/model"


PROVIDERS: dict[str, ProviderConfig] = {
    "openai": ProviderConfig("openai", "OPENAI_API_KEY", None, "gpt-5.1", False, False, False),
    "openrouter": ProviderConfig("openrouter", "OPENROUTER_API_KEY", OPENROUTER_BASE_URL,
                                 "openai/gpt-5.1", True, True, True),
    "demo": ProviderConfig("demo", None, None, "openai/gpt-5.1", True, True, True),
}
PROVIDER_NAMES = tuple(PROVIDERS)


def get_provider(name: str) -> ProviderConfig:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise UsageError(
            f"unknown provider {name!r}: choose one of {', '.join(PROVIDER_NAMES)}") from None


def resolve_api_key(provider: ProviderConfig, explicit: str | None,
                    environ: Mapping[str, str] | None = None) -> str:
    """The key to use, or a :class:`UsageError` naming where to put one."""
    if provider.key_env is None:
        return "demo-key-not-secret"
    environ = os.environ if environ is None else environ
    key = (explicit or environ.get(provider.key_env) or "").strip()
    if key:
        return key
    if provider.name == "openrouter":
        raise UsageError("no OpenRouter API key: set OPENROUTER_API_KEY or pass --openrouter-key "
                         "(or try --provider demo, which needs none)")
    raise UsageError(f"no OpenAI API key: set {provider.key_env} "
                     "(or use --provider openrouter with OPENROUTER_API_KEY / --openrouter-key, "
                     "or --provider demo, which needs none)")


def validate_model(provider: ProviderConfig, model: str) -> str:
    model = model.strip()
    if not model:
        raise UsageError("--model is empty: name a model, e.g. openai/gpt-5.1")
    if provider.model_needs_slash and "/" not in model:
        raise UsageError(f"model {model!r} is not an OpenRouter model id: use provider/model, "
                         f"e.g. openai/{model}")
    if not provider.model_needs_slash and "/" in model:
        raise UsageError(f"model {model!r} looks like an OpenRouter id: with --provider openai "
                         f"use a bare name like {model.split('/', 1)[1]!r}, "
                         "or pass --provider openrouter")
    return model
