"""The errors tech_writer raises on purpose, and the exit code each one maps to.

::

    TechWriterError                 exit 1 unless a subclass says otherwise
    ├── UsageError                  exit 2: bad flags, missing files, no API key
    │   └── SettingError            a run setting that cannot work (names the setting, not a flag)
    ├── LLMError                    a model call failed for good
    │   ├── AuthenticationError     401: the key was rejected
    │   ├── InsufficientCreditsError 402: out of credits or over the key's limit
    │   ├── RequestRejectedError    400/403/404/413/422: the request itself was refused
    │   ├── ProviderUnavailableError retryable failures that outlasted the retry budget
    │   └── ResponseError           a 200 carrying an error, a malformed body, a stream cut short
    ├── OutlineError                the model could not produce a usable outline
    └── RepositoryError             the repository could not be read or cloned
    BudgetExhausted (tech_writer.llm.budget)  exit 3: --max-cost reached
    Terminated (a KeyboardInterrupt)      exit 143: SIGTERM; Ctrl-C exits 130

Every message is one line meant for a person: what went wrong and what to do about it.
Messages never contain API keys (they are built from status codes and server messages only).
"""

from __future__ import annotations

__all__ = [
    "EXIT_BUDGET",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "EXIT_USAGE",
    "AuthenticationError",
    "InsufficientCreditsError",
    "LLMError",
    "OutlineError",
    "ProviderUnavailableError",
    "RepositoryError",
    "RequestRejectedError",
    "ResponseError",
    "SettingError",
    "TechWriterError",
    "Terminated",
    "interruption",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class TechWriterError(Exception):
    """Base class: an expected failure with a message fit for the user."""

    exit_code: int = EXIT_FAILED

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(TechWriterError):
    exit_code = EXIT_USAGE


class SettingError(UsageError):
    """A setting that cannot work, said in the domain's words ("the budget must be a positive
    amount of US dollars"). ``setting`` is the settings field it concerns and ``reason`` a short
    code for the problem; ``details`` are the values the message was built from. The command line
    alone turns these into the words of its flags (``tech_writer.commands.common``)."""

    def __init__(self, setting: str, message: str, *, reason: str = "invalid",
                 **details: str) -> None:
        super().__init__(message)
        self.setting = setting
        self.reason = reason
        self.details = details


class LLMError(TechWriterError):
    """A model call failed and will not be retried further."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 error_type: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        # The value for the span's `error.type`: the provider's code when there is one.
        self.error_type = error_type or (str(status_code) if status_code else type(self).__name__)


class AuthenticationError(LLMError):
    pass


class InsufficientCreditsError(LLMError):
    pass


class RequestRejectedError(LLMError):
    pass


class ProviderUnavailableError(LLMError):
    pass


class ResponseError(LLMError):
    pass


class OutlineError(TechWriterError):
    pass


class RepositoryError(TechWriterError):
    pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the same clean-up runs; exits 143 instead of 130."""

    exit_code = EXIT_SIGTERM


def interruption(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The one-line message and the exit code of a Ctrl-C, or of a SIGTERM (:class:`Terminated`)."""
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM)", EXIT_SIGTERM
    return "interrupted (Ctrl-C)", EXIT_SIGINT
