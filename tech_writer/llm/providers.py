"""What differs between the providers tech_writer can talk to, as data.

``openrouter`` and ``demo`` speak OpenRouter's dialect (usage with ``cost``, ``/generation``,
attribution headers); ``openai`` is the plain OpenAI API. ``demo`` is the built-in scripted model
served by :mod:`tech_writer.demo` on a loopback port: same wire format, simulated costs.
``local`` is any OpenAI-compatible server the user runs (llama.cpp, Ollama, vLLM, LM Studio):
it needs a base URL, a key only if the server was started with one, and it bills nothing, so
its cost is known to be zero.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tech_writer.errors import SettingError

__all__ = [
    "PROVIDERS",
    "PROVIDER_NAMES",
    "ProviderConfig",
    "get_provider",
    "require_base_url",
    "resolve_api_key",
    "validate_model",
]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
# What the openai SDK is given when a local server needs no key (it refuses an empty one);
# llama.cpp's documentation uses the same words.
NO_KEY = "sk-no-key-required"
LOCAL_EXAMPLE_URL = "http://127.0.0.1:8080/v1"


@dataclass(frozen=True, kw_only=True)
class ProviderConfig:
    name: str
    key_env: str | None  # environment variable holding the key; None = no key needed
    default_base_url: str | None
    default_model: str
    track_cost_default: bool
    openrouter_dialect: bool  # sends attribution headers, reads usage.cost, may query /generation
    model_needs_slash: bool  # OpenRouter model ids are "provider/model"
    key_required: bool = True  # False: key_env is read if set, else no key is sent
    cost_known_zero: bool = False  # the provider bills nothing: every call's cost is $0, known
    base_url_required: bool = False  # no default address: the user must say where
    # A local server names its models as it likes ("qwen2.5:7b", "Qwen/Qwen2.5-7B-Instruct"):
    # any non-empty name goes, with or without a slash.
    any_model_name: bool = False


PROVIDERS: dict[str, ProviderConfig] = {
    "openai": ProviderConfig(name="openai", key_env="OPENAI_API_KEY", default_base_url=None,
                             default_model="gpt-5.1", track_cost_default=False,
                             openrouter_dialect=False, model_needs_slash=False),
    "openrouter": ProviderConfig(name="openrouter", key_env="OPENROUTER_API_KEY",
                                 default_base_url=OPENROUTER_BASE_URL,
                                 default_model="openai/gpt-5.1", track_cost_default=True,
                                 openrouter_dialect=True, model_needs_slash=True),
    "demo": ProviderConfig(name="demo", key_env=None, default_base_url=None,
                           default_model="openai/gpt-5.1", track_cost_default=True,
                           openrouter_dialect=True, model_needs_slash=True),
    "local": ProviderConfig(name="local", key_env="LOCAL_API_KEY", default_base_url=None,
                            default_model="", track_cost_default=True, openrouter_dialect=False,
                            model_needs_slash=False, key_required=False, cost_known_zero=True,
                            base_url_required=True, any_model_name=True),
}
PROVIDER_NAMES = tuple(PROVIDERS)


def get_provider(name: str) -> ProviderConfig:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise SettingError("provider", f"unknown provider {name!r}: choose one of "
                           f"{', '.join(PROVIDER_NAMES)}", reason="unknown_provider",
                           provider=name) from None


def resolve_api_key(provider: ProviderConfig, explicit: str | None,
                    environ: Mapping[str, str] | None = None) -> str:
    """The key to use, or a :class:`SettingError` naming where to put one."""
    if provider.key_env is None:
        return "demo-key-not-secret"
    environ = os.environ if environ is None else environ
    key = (explicit or environ.get(provider.key_env) or "").strip()
    if key:
        return key
    if not provider.key_required:
        return NO_KEY
    raise SettingError("api_key", f"no API key for provider {provider.name}: set "
                       f"{provider.key_env} or pass the key (the demo provider needs none)",
                       reason="missing_key", provider=provider.name, key_env=provider.key_env)


def require_base_url(provider: ProviderConfig, base_url: str | None) -> None:
    """A provider without a default address (``local``) needs to be told where its server is."""
    if provider.base_url_required and not (base_url or "").strip():
        raise SettingError("base_url", f"provider {provider.name} needs the server's OpenAI API "
                           f"base URL, e.g. {LOCAL_EXAMPLE_URL}", reason="base_url_required",
                           provider=provider.name, example=LOCAL_EXAMPLE_URL)


def validate_model(provider: ProviderConfig, model: str) -> str:
    model = model.strip()
    if not model and provider.any_model_name:
        raise SettingError("model", f"provider {provider.name} needs a model name: the name "
                           "the server serves its model under", reason="model_required",
                           provider=provider.name)
    if not model:
        raise SettingError("model", "the model name is empty", reason="model_empty")
    if provider.any_model_name:
        return model
    if provider.model_needs_slash and "/" not in model:
        raise SettingError("model", f"model {model!r} is not an OpenRouter model id: use "
                           f"provider/model, e.g. openai/{model}", reason="model_needs_slash",
                           model=model)
    if not provider.model_needs_slash and "/" in model:
        raise SettingError("model", f"model {model!r} looks like an OpenRouter id: provider "
                           f"{provider.name} takes a bare name like {model.split('/', 1)[1]!r}",
                           reason="model_has_slash", model=model, provider=provider.name,
                           bare=model.split("/", 1)[1])
    return model
