"""The one error hierarchy: what every layer raises and every client receives.

Each class names the gRPC status it maps to (``status``, a plain string, so generators stay free of
gRPC). The server turns any :class:`GameGenError` into that status with the message as details;
the Python client turns a status back into the same class, so code that catches
``InvalidArgument`` works the same in-process and over the wire::

    try:
        ...
    except GameGenError as e:
        print(e.code, e.details)      # grpc.StatusCode.INVALID_ARGUMENT, "width must be ..."

Anything that is not a :class:`GameGenError` is a bug and is reported as INTERNAL.
"""

from __future__ import annotations


class GameGenError(Exception):
    """Base of every error gamegen raises on purpose. ``details`` is the message a person reads."""

    status = "INTERNAL"

    def __init__(self, details: str = "", *, field: str | None = None, remote: bool = False):
        super().__init__(details)
        self.details = details
        self.field = field          # the request field at fault, where there is one
        self.remote = remote        # raised by a client from a server's status

    @property
    def code(self):
        """The gRPC status code (``grpc.StatusCode``); grpc is imported only when asked."""
        import grpc

        return grpc.StatusCode[self.status]

    def __str__(self) -> str:
        return f"{self.status}: {self.details}" if self.remote else self.details


class InvalidArgument(GameGenError, ValueError):
    """A request value is not allowed; ``field`` names it and the message says what is."""

    status = "INVALID_ARGUMENT"


class NotFound(GameGenError, LookupError):
    status = "NOT_FOUND"


class ResourceExhausted(GameGenError):
    status = "RESOURCE_EXHAUSTED"


class Aborted(GameGenError):
    """No valid content within the generator's bounded budget."""

    status = "ABORTED"


class FailedPrecondition(GameGenError):
    """The system is not in a state to do this (a model that cannot load, a missing corpus)."""

    status = "FAILED_PRECONDITION"


class Cancelled(GameGenError):
    status = "CANCELLED"


class DeadlineExceeded(GameGenError):
    status = "DEADLINE_EXCEEDED"


class Unavailable(GameGenError):
    status = "UNAVAILABLE"


class Internal(GameGenError):
    status = "INTERNAL"


_BY_STATUS = {c.status: c for c in (InvalidArgument, NotFound, ResourceExhausted, Aborted, FailedPrecondition,
                                    Cancelled, DeadlineExceeded, Unavailable)}


def from_status(status: str, details: str) -> GameGenError:
    """The error a client raises for a server status (by name, e.g. ``"NOT_FOUND"``)."""
    cls = _BY_STATUS.get(status, GameGenError)
    err = cls(details, remote=True)
    if cls is GameGenError:
        err.status = status   # keep UNKNOWN, UNIMPLEMENTED, ... as they came
    return err
