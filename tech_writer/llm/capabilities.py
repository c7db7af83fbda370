"""What the chosen model can do, so the pipeline asks only for what it supports.

OpenRouter lists each model's ``supported_parameters`` (``tools``, ``tool_choice``,
``response_format``, ``structured_outputs``, ``reasoning``, ...), its ``context_length`` and its top
provider's ``max_completion_tokens`` on ``GET /models``; the client reads that once per run, with
the prices (:mod:`tech_writer.llm.pricing`). A local server has no such list: its capabilities come
from flags (``--no-structured-output``, ``--no-parallel-tools``). Plain OpenAI models support
everything the pipeline uses.

The outline is asked for in the best form the model supports (:meth:`Capabilities.outline_mode`):
``json_schema`` structured output, else a forced tool call whose arguments follow the same schema,
else JSON in the text, validated against the schema and asked for again once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = [
    "OPTIONAL_PARAMETERS",
    "REASONING_EFFORTS",
    "Capabilities",
    "ModelReasoning",
    "OutlineMode",
    "fit_request",
    "needs_capabilities",
    "parse_capabilities",
    "parse_model_reasoning",
    "reasoning_parameter",
]

OutlineMode = Literal["json_schema", "tool", "text"]

# Request fields the pipeline sends only to models that list them (the key of each is the name
# in ``supported_parameters``). ``response_format`` with a json_schema needs ``structured_outputs``.
OPTIONAL_PARAMETERS = ("tool_choice", "response_format", "reasoning", "parallel_tool_calls")
# What "supports everything" stands for when a list has to be written out.
_ALL_PARAMETERS = frozenset({"tools", "structured_outputs", *OPTIONAL_PARAMETERS})
# OpenRouter's ReasoningEffort (its OpenAPI schema, August 2026), highest first.
REASONING_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")


@dataclass(frozen=True)
class ModelReasoning:
    """A model's ``reasoning`` entry on ``/models`` (OpenRouter's ``ModelReasoning``)."""

    mandatory: bool = False  # True: reasoning cannot be turned off, effort "none" is rejected
    supported_efforts: tuple[str, ...] | None = None  # None: no allowlist, any effort accepted
    default_effort: str | None = None

    def refusal(self, model: str, effort: str) -> str | None:
        """Why ``--reasoning effort`` cannot be sent to ``model`` (one line), or None."""
        if effort == "none" and self.mandatory:
            return (f"--reasoning none: {model}'s reasoning is mandatory and cannot be turned "
                    f"off; choose one of {', '.join(self._allowed())} or another --model")
        if self.supported_efforts is not None and effort not in self.supported_efforts:
            return (f"--reasoning {effort}: {model} does not support that effort; choose one "
                    f"of {', '.join(self._allowed())}")
        return None

    def _allowed(self) -> tuple[str, ...]:
        listed = self.supported_efforts if self.supported_efforts is not None \
            else REASONING_EFFORTS
        return tuple(e for e in listed if not (e == "none" and self.mandatory))


@dataclass(frozen=True)
class Capabilities:
    """One model's capabilities; ``parameters`` None means not known, assumed supported."""

    model: str
    parameters: frozenset[str] | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    parallel_tools: bool = True  # False: ask for one tool call per turn (parallel_tool_calls)
    # /models' ``reasoning`` entry; None when the model lists none (not a reasoning model, or
    # not known).
    reasoning: ModelReasoning | None = None

    def reasoning_refusal(self, effort: str | None) -> str | None:
        """Why ``--reasoning effort`` cannot be sent to this model (one line), or None. A model
        that does not list ``reasoning`` refuses nothing: the effort is left out (with a
        warning), not sent."""
        if effort is None or self.reasoning is None or not self.supports("reasoning"):
            return None
        return self.reasoning.refusal(self.model, effort)

    def supports(self, parameter: str) -> bool:
        if parameter == "response_format:json_schema":
            return self.supports("structured_outputs")
        return self.parameters is None or parameter in self.parameters

    def outline_mode(self) -> OutlineMode:
        if self.supports("response_format:json_schema"):
            return "json_schema"
        if self.supports("tools"):
            return "tool"
        return "text"

    def missing_for_exploration(self) -> str | None:
        """A one-line reason the model cannot explore a repository, or None when it can."""
        if self.supports("tools"):
            return None
        return (f"model {self.model} does not support tool calling ('tools' is not in its "
                "supported_parameters), which exploring the repository needs: choose a model "
                "that does (see https://openrouter.ai/models?supported_parameters=tools)")

    def unsupported(self, request: Mapping[str, Any]) -> list[str]:
        """The optional fields of ``request`` the model does not support (to leave out)."""
        dropped = []
        for name in OPTIONAL_PARAMETERS:
            if name not in request:
                continue
            key = name
            if name == "response_format" and _is_json_schema(request[name]):
                key = "response_format:json_schema"
            if not self.supports(key):
                dropped.append(name)
        return dropped

    def restricted(self, *, structured_output: bool = True,
                   parallel_tools: bool = True) -> Capabilities:
        """These capabilities with structured output and/or parallel tool calls turned off."""
        if structured_output and parallel_tools:
            return self
        parameters = _ALL_PARAMETERS if self.parameters is None else self.parameters
        if not structured_output:
            parameters = parameters - {"structured_outputs", "response_format"}
        return replace(self, parameters=parameters,
                       parallel_tools=self.parallel_tools and parallel_tools)

    @classmethod
    def local(cls, model: str, *, structured_output: bool = True,
              parallel_tools: bool = True) -> Capabilities:
        """A local server's, from the flags: OpenRouter's ``reasoning`` is never sent there."""
        return cls(model, _ALL_PARAMETERS - {"reasoning"}).restricted(
            structured_output=structured_output, parallel_tools=parallel_tools)


def parse_capabilities(model: str, entry: Mapping[str, Any]) -> Capabilities:
    """A ``/models`` entry's capabilities; a field missing or malformed counts as unknown."""
    listed = entry.get("supported_parameters")
    parameters = (frozenset(p for p in listed if isinstance(p, str))
                  if isinstance(listed, list) else None)
    top = entry.get("top_provider")
    top = top if isinstance(top, Mapping) else {}
    return Capabilities(model, parameters, _positive_int(entry.get("context_length")),
                        _positive_int(top.get("max_completion_tokens")),
                        reasoning=parse_model_reasoning(entry.get("reasoning")))


def parse_model_reasoning(entry: Any) -> ModelReasoning | None:
    """``/models``' ``reasoning`` object; None when absent or unreadable. Efforts the schema
    does not know are dropped (an allowlist that names only unknown ones then allows none of
    ours, which is what it says)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("mandatory"), bool):
        return None
    listed = entry.get("supported_efforts")
    efforts = (tuple(e for e in listed if e in REASONING_EFFORTS)
               if isinstance(listed, list) else None)
    default = entry.get("default_effort")
    return ModelReasoning(entry["mandatory"], efforts,
                          default if default in REASONING_EFFORTS else None)


def fit_request(request: dict[str, Any], capabilities: Capabilities) -> list[str]:
    """Leave out of ``request`` the optional fields the model does not support (the pipeline
    also asks in words for what a forced ``tool_choice`` would force), and ask for one tool
    call per turn where parallel calls are off. Returns the names left out."""
    dropped = capabilities.unsupported(request)
    for name in dropped:
        del request[name]
    if "tools" in request and not capabilities.parallel_tools \
            and capabilities.supports("parallel_tool_calls"):
        request["parallel_tool_calls"] = False
    return dropped


def needs_capabilities(request: Mapping[str, Any]) -> bool:
    """Whether fitting ``request`` needs the capabilities at all: a plain chat does not, so it
    costs no ``/models`` request."""
    return "tools" in request or any(name in request for name in OPTIONAL_PARAMETERS)


def reasoning_parameter(effort: str) -> dict[str, Any]:
    """OpenRouter's ``reasoning`` object for ``--reasoning``: ``{"effort": ...}``, ``none``
    included. The schema's ChatRequest.reasoning has ``effort`` (and ``summary``) only; the
    prose's ``{"enabled": false}`` is not in it, so it is not sent (the schema wins)."""
    if effort not in REASONING_EFFORTS:
        raise ValueError(f"reasoning effort must be one of {REASONING_EFFORTS}")
    return {"effort": effort}


def _is_json_schema(response_format: Any) -> bool:
    return isinstance(response_format, Mapping) and response_format.get("type") == "json_schema"


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
