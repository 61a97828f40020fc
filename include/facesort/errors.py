"""Errors a user can act on.

Every :class:`FacesortError` message names the thing that is wrong and the fix, so
the command line prints it without a traceback and an Airflow task log shows it as
the task's failure reason.
"""


class FacesortError(Exception):
    """An error with a message meant for the user, not a bug."""


class ConfigError(FacesortError):
    """The configuration file is missing, unreadable or invalid."""


class StateError(FacesortError):
    """The state database cannot be opened or is at an unknown schema version."""


class StagingError(FacesortError):
    """A staging, library or review folder is missing or not usable."""
