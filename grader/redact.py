"""Keep secrets out of every output: passwords in connection strings and known secret values."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# scheme://user:password@host: the password runs to the last '@' before the host (an unencoded
# '@' inside it is masked too); it holds no '/', so `http://host:8080/path?a@b` is left alone.
_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^\s/]+)(?P<tail>@[^@/\s]*)"
)
_SECRET_KEYS = re.compile(
    r"(?i)\b(?P<key>[\w.\-]*(password|passwd|secret|fernet_key|token)[\w.\-]*)(?P<sep>\s*[=:]\s*)(?P<val>\S+)"
)


def redact_url(url: str) -> str:
    """`mysql+pymysql://airflow:Bespin12!@127.0.0.1/airflow` -> `mysql+pymysql://airflow:***@127.0.0.1/airflow`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("tail"), url)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask URL passwords, `password=...`-style values and every known secret value in text."""
    text = redact_url(text)
    text = _SECRET_KEYS.sub(lambda m: m.group("key") + m.group("sep") + MASK, text)
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
