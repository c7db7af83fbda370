"""What differs between the providers tech_writer can talk to, as data.

``openrouter`` and ``demo`` speak OpenRouter's dialect (usage with ``cost``, ``/generation``,
attribution headers); ``openai`` is the plain OpenAI API. ``demo`` is the built-in scripted model
served by :mod:`tech_writer.demo` on a loopback port: same wire format, simulated costs.
``local`` is any OpenAI-compatible server the user runs (llama.cpp, Ollama, vLLM, LM Studio):
it needs ``--base-url``, a key only if the server was started with one, and it bills nothing, so
its cost is known to be zero.
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
    "require_base_url",
    "resolve_api_key",
    "validate_model",
]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
# What the openai SDK is given when a local server needs no key (it refuses an empty one);
# llama.cpp's documentation uses the same words.
NO_KEY = "sk-no-key-required"
LOCAL_EXAMPLE_URL = "http://127.0.0.1:8080/v1"


@dataclass(frozen=True)
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
    base_url_required: bool = False  # no default address: --base-url must say where
    # A local server names its models as it likes ("qwen2.5:7b", "Qwen/Qwen2.5-7B-Instruct"):
    # any non-empty name goes, with or without a slash.
    any_model_name: bool = False


PROVIDERS: dict[str, ProviderConfig] = {
    "openai": ProviderConfig("openai", "OPENAI_API_KEY", None, "gpt-5.1", False, False, False),
    "openrouter": ProviderConfig("openrouter", "OPENROUTER_API_KEY", OPENROUTER_BASE_URL,
                                 "openai/gpt-5.1", True, True, True),
    "demo": ProviderConfig("demo", None, None, "openai/gpt-5.1", True, True, True),
    "local": ProviderConfig("local", "LOCAL_API_KEY", None, "", True, False, False,
                            key_required=False, cost_known_zero=True, base_url_required=True,
                            any_model_name=True),
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
    if not provider.key_required:
        return NO_KEY
    if provider.name == "openrouter":
        raise UsageError("no OpenRouter API key: set OPENROUTER_API_KEY or pass --openrouter-key "
                         "(or try --provider demo, which needs none)")
    raise UsageError(f"no OpenAI API key: set {provider.key_env} "
                     "(or use --provider openrouter with OPENROUTER_API_KEY / --openrouter-key, "
                     "or --provider demo, which needs none)")


def require_base_url(provider: ProviderConfig, base_url: str | None) -> None:
    """A provider without a default address (``local``) needs ``--base-url``."""
    if provider.base_url_required and not (base_url or "").strip():
        raise UsageError(f"--provider {provider.name} needs --base-url, the server's OpenAI API "
                         f"address, e.g. {LOCAL_EXAMPLE_URL} (llama.cpp) or "
                         "http://127.0.0.1:11434/v1 (Ollama)")


def validate_model(provider: ProviderConfig, model: str) -> str:
    model = model.strip()
    if not model and provider.any_model_name:
        raise UsageError(f"--provider {provider.name} needs --model NAME: the name the server "
                         "serves its model under (e.g. qwen2.5:7b on Ollama)")
    if not model:
        raise UsageError("--model is empty: name a model, e.g. openai/gpt-5.1")
    if provider.any_model_name:
        return model
    if provider.model_needs_slash and "/" not in model:
        raise UsageError(f"model {model!r} is not an OpenRouter model id: use provider/model, "
                         f"e.g. openai/{model}")
    if not provider.model_needs_slash and "/" in model:
        raise UsageError(f"model {model!r} looks like an OpenRouter id: with --provider openai "
                         f"use a bare name like {model.split('/', 1)[1]!r}, "
                         "or pass --provider openrouter")
    return model
