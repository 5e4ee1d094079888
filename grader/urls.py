"""Connection URLs read the way their consumers read them, so the grader logs in where Airflow does.

- `sql_alchemy_conn` (and a `db+` result backend) is read by SQLAlchemy: the user name ends at the
  first `:` or `/`, the password runs to the first `@` after it and may hold `/ ? # :` unencoded;
  both are percent-decoded.
- `broker_url` is read by kombu with urllib's rules: the network location ends at the first
  `/ ? #`, and the user info runs to the last `@` inside it.

Agreement with SQLAlchemy and kombu of both pinned Airflow versions is tested in
tests/integration/test_url_parsing.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class UrlParts:
    scheme: str
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None  # the path after the host, without its leading "/" and query


_SQLALCHEMY = re.compile(
    r"""(?P<scheme>[\w+]+)://
        (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
        (?:\[(?P<ipv6>[^/?]+)\]|(?P<host>[^/:?]+))?
        (?::(?P<port>[^/?]*))?
        (?:/(?P<database>[^?]*))?
        (?:\?.*)?$""",
    re.X | re.S,
)


def sqlalchemy_url(value: str | None) -> UrlParts | None:
    """A database URL as SQLAlchemy's make_url reads it; None when SQLAlchemy would refuse it."""
    if not value:
        return None
    match = _SQLALCHEMY.match(value.strip())
    if match is None:
        return None
    port = match.group("port")
    if port:
        if not port.isdigit():
            return None
        number = int(port)
    else:
        number = None
    username, password = match.group("username"), match.group("password")
    return UrlParts(
        scheme=match.group("scheme"),
        username=unquote(username) if username is not None else None,
        password=unquote(password) if password is not None else None,
        host=match.group("ipv6") or match.group("host"),
        port=number,
        database=match.group("database"),
    )


def kombu_url(value: str | None) -> UrlParts | None:
    """A broker URL as kombu reads it (urllib's split); None when it has no scheme or a bad port."""
    if not value or "://" not in value:
        return None
    scheme, _, rest = value.partition("://")
    try:
        parts = urlsplit("http://" + rest)
        port = parts.port
    except ValueError:
        return None
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return UrlParts(
        scheme=scheme,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port,
        database=unquote(path) or None,
    )
