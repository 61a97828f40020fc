"""Sending the weekly report by email through an Airflow SMTP connection.

The connection (``report.smtp_conn_id``, type smtp) holds the server, port, login and
TLS settings, so no mail secret lives in facesort's config. The mail is a short HTML
summary; the self-contained report page and the summary CSV are attached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facesort.config import Config
from facesort.errors import FacesortError


class EmailSetupError(FacesortError):
    """The email cannot be sent as configured (no connection, no sender)."""


def send_report_email(config: Config, made: dict[str, Any]) -> list[str]:
    """Mail the report described by ``made`` (``ReportFiles.as_dict()``); returns the
    recipients. Nothing is sent when ``report.email_to`` is empty."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from facesort.report.html import email_body, email_subject

    settings = config.report
    if not settings.email_to:
        return []
    conn_id = settings.smtp_conn_id
    _check_connection(conn_id)
    page = Path(made["page"])
    attachments = [str(page), str(page.parent / "summary.csv")]
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        if not (settings.email_from or hook.from_email):
            raise EmailSetupError(
                f"The report email has no sender: set report.email_from in the facesort config "
                f"or from_email in the extra of the Airflow connection {conn_id!r}."
            )
        hook.send_email_smtp(
            to=list(settings.email_to),
            subject=email_subject(made["summary"]),
            html_content=email_body(made["summary"], report_path=str(page)),
            from_email=settings.email_from,
            files=attachments,
        )
    return list(settings.email_to)


def _check_connection(conn_id: str) -> None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise EmailSetupError(
            f"report.email_to is set but the Airflow connection {conn_id!r} does not exist: add "
            "it (Admin > Connections, type smtp: host, port, login; from_email in the extra), "
            "or set report.smtp_conn_id to yours, or empty report.email_to."
        ) from None
