"""The one error the registry package raises: a clear line for the user, never a secret."""

from __future__ import annotations

from enum import StrEnum

from keelhaul.errors import ReferenceError_

__all__ = ["Problem", "RegistryError"]


class Problem(StrEnum):
    """What went wrong, for callers that react differently (a fallback, a hint)."""

    CREDENTIALS = "credentials"  # config.json or a credential helper could not be read
    UNREACHABLE = "unreachable"  # connection refused, reset, or timed out
    DNS = "dns"  # the host name does not resolve
    TLS = "tls"  # certificate or handshake failure
    UNAUTHORIZED = "unauthorized"  # 401/403: no, wrong or insufficient credentials
    NOT_FOUND = "not-found"  # unknown repository, tag, digest, or local image
    MALFORMED = "malformed"  # a response that breaks the protocol, too large, or a bad digest
    SERVER = "server"  # any other HTTP error status
    ENGINE = "engine"  # the local Docker Engine cannot answer


class RegistryError(ReferenceError_):
    """A registry, the local Docker Engine or the credential store could not give an answer.

    ``str(err)`` names the registry (or engine) and the reference; it never contains a
    password or a token. ``problem`` says which kind of failure it was.
    """

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
