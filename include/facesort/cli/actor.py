"""Who runs a command: the actor its actions are recorded under (``facesort people/anna``)."""

from __future__ import annotations

import getpass
import os


def command_actor(command: str) -> str:
    """``facesort <command>/<user>``: the user running ``facesort <command> ...``."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        user = str(os.getuid())
    return f"facesort {command}/{user}"
