"""E-mail through the hub's configured SMTP server (stdlib smtplib): settings in the hub, sending in batches.

Settings live in `hub_settings` (smtp.host, smtp.port, smtp.from, smtp.starttls, smtp.username,
smtp.password_env). The password itself is never stored: it is read from the environment variable named
by smtp.password_env (default ECONET_SMTP_PASSWORD) when a username is set.
"""

from __future__ import annotations

import os
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m

KEYS = ("host", "port", "from", "starttls", "username", "password_env")
DEFAULT_PASSWORD_ENV = "ECONET_SMTP_PASSWORD"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "econet@localhost"
    starttls: bool = False
    username: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV

    def public(self) -> dict:
        return {"host": self.host, "port": self.port, "from": self.sender, "starttls": self.starttls,
                "username": self.username, "password_env": self.password_env if self.username else None}


def set_smtp(conn: Connection, *, host: str, port: int = 25, sender: str = "econet@localhost",
             starttls: bool = False, username: str | None = None,
             password_env: str = DEFAULT_PASSWORD_ENV) -> dict:
    """Store the SMTP settings (replacing earlier ones)."""
    if not host or any(c in host for c in " /<>@"):
        raise EconetError("--host must be a host name or address", field="host")
    if not 0 < int(port) < 65536:
        raise EconetError("--port must be 1-65535", field="port")
    if not _EMAIL.match(sender or ""):
        raise EconetError("--from must be an e-mail address", field="from")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env or ""):
        raise EconetError("--password-env must name an environment variable", field="password_env")
    values = {"host": host, "port": str(int(port)), "from": sender, "starttls": "1" if starttls else "0",
              "username": username or "", "password_env": password_env}
    H = m.HubSetting
    conn.execute(delete(H).where(H.key.in_([f"smtp.{k}" for k in KEYS])))
    conn.execute(insert(H), [{"key": f"smtp.{k}", "value": v} for k, v in values.items()])
    return get_smtp(conn).public()


def clear_smtp(conn: Connection) -> None:
    conn.execute(delete(m.HubSetting).where(m.HubSetting.key.in_([f"smtp.{k}" for k in KEYS])))


def get_smtp(conn: Connection) -> SmtpSettings | None:
    """The configured settings, or None when no SMTP server is configured."""
    H = m.HubSetting
    got = {k[5:]: v for k, v in conn.execute(select(H.key, H.value).where(H.key.like("smtp.%")))}
    if not got.get("host"):
        return None
    return SmtpSettings(host=got["host"], port=int(got.get("port") or 25), sender=got.get("from") or "econet@localhost",
                        starttls=got.get("starttls") == "1", username=got.get("username") or None,
                        password_env=got.get("password_env") or DEFAULT_PASSWORD_ENV)


def message(settings: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject.replace("\n", " ")[:200]
    msg.set_content(body)
    return msg


def send(settings: SmtpSettings, messages: list[EmailMessage], *, timeout: float = 20.0) -> list[str | None]:
    """Send the messages over one connection; per message None (sent) or the reason it failed.

    A server that cannot be reached fails every message with the same reason (never raises)."""
    if not messages:
        return []
    try:
        server = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [f"cannot reach SMTP server {settings.host}:{settings.port}: {exc}"] * len(messages)
    out: list[str | None] = []
    try:
        server.ehlo()
        if settings.starttls:
            server.starttls()
            server.ehlo()
        if settings.username:
            password = os.environ.get(settings.password_env)
            if password is None:
                return [f"SMTP login needs the password in ${settings.password_env}"] * len(messages)
            server.login(settings.username, password)
        for msg in messages:
            try:
                server.send_message(msg)
                out.append(None)
            except smtplib.SMTPException as exc:
                out.append(f"refused by the SMTP server: {exc}")
    except (OSError, smtplib.SMTPException) as exc:
        out += [f"SMTP error: {exc}"] * (len(messages) - len(out))
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
    return out
