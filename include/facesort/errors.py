"""Errors a user can act on.

Every :class:`FacesortError` message names the thing that is wrong and the fix, so
the command line prints it without a traceback and an Airflow task log shows it as
the task's failure reason.
"""


class FacesortError(Exception):
    """An error with a message meant for the user, not a bug."""


class TransferFailed(Exception):
    """The filesystem refused a journaled transfer (full, read-only, no permission): the
    file is where it was, and the message says what was refused. Not a FacesortError:
    the command that was moving files says how to go on (files.journal raises it)."""


class ConfigError(FacesortError):
    """The configuration file is missing, unreadable or invalid."""


class StateError(FacesortError):
    """The state database cannot be opened or is at an unknown schema version."""


class StagingError(FacesortError):
    """A staging, library or review folder is missing or not usable."""


class ImmichError(FacesortError):
    """Immich cannot be used as configured: a wrong key, a missing permission, no library.

    These do not fix themselves; the message names the setting to change. Files are still
    sorted (by local matching) while the problem lasts.
    """


class ImmichAuthError(ImmichError):
    """Immich answered 401: the API key is wrong, expired or deleted."""


class ImmichPermissionError(ImmichError):
    """Immich answered 403 ``Missing required permission: X``: the key lacks ``X``."""

    def __init__(self, message: str, permission: str | None = None):
        super().__init__(message)
        self.permission = permission


class ImmichNotAdminError(ImmichPermissionError):
    """Immich answered a plain 403 ``Forbidden``: the key's user is not an admin (library
    scans and job queues are admin routes), whatever permissions the key has."""


class ImmichUnavailable(FacesortError):
    """Immich could not be reached or kept failing (refused, timed out, 5xx) after retries.

    Transient: the run goes on with local matching and the next run asks Immich again.
    """
