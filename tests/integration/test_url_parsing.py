"""The grader reads `sql_alchemy_conn` as SQLAlchemy does and `broker_url` as kombu does, shown
against the SQLAlchemy and kombu of both pinned Airflow versions (the practice node's venvs):
every URL of a corpus of passwords a MySQL/Redis policy allows (raw, percent-encoded, with
`/ ? # : @`), IPv6 hosts, ports and query strings gives the same user, password, host, port and
database, and the same refusal."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from grader.urls import kombu_url, sqlalchemy_url
from tests.integration.conftest import NODE_SCRIPT

VENVS = {"2.11.2": "airflow-venv", "3.3.2": "airflow3-venv"}

ORACLE = r"""
import json, sys
from sqlalchemy.engine import make_url
from kombu.utils.url import url_to_parts
out = []
for url in json.load(sys.stdin):
    row = {}
    try:
        u = make_url(url)
        row["sqlalchemy"] = [u.drivername, u.username, u.password, u.host, u.port, u.database]
    except Exception as exc:
        row["sqlalchemy"] = None
    try:
        k = url_to_parts(url)
        row["kombu"] = [k.scheme, k.username, k.password, k.hostname, k.port, k.path]
    except Exception as exc:
        row["kombu"] = None
    out.append(row)
json.dump(out, sys.stdout)
"""

PASSWORDS = [
    "Bespin12!",
    "p@ss:w/rd?#1",
    "a/b",
    "x?y=z",
    "h#sh",
    "all!#$%^&*()-_=+[]{};',.<>~`|",
    "sp ace",
    "콜론:비번",
    "%41%42",
    "last@at@",
]


def corpus() -> list[str]:
    urls = []
    for password in PASSWORDS:
        for form in (password, quote(password, safe="")):
            for host in ("127.0.0.1:3306", "localhost", "[::1]:3307", "db.internal"):
                urls.append(f"mysql+pymysql://airflow:{form}@{host}/airflow")
                urls.append(f"redis://:{form}@{host.replace('3306', '6379')}/0")
        urls.append(f"mysql://user:{password}@127.0.0.1:3306/airflow?charset=utf8mb4")
    urls += [
        "mysql+pymysql://airflow@127.0.0.1/airflow",
        "mysql+pymysql://127.0.0.1/airflow",
        "mysql+pymysql://airflow:pw@127.0.0.1:notaport/airflow",
        "redis://localhost:6379/0",
        "redis://user:pw@localhost:6379",
        "rediss://:pw@host:6380/1?ssl_cert_reqs=none",
        "sqlite:////home/ec2-user/airflow/airflow.db",
        "postgresql+psycopg2://a:b@h:5432/d",
    ]
    for user, password in itertools.product(("air flow", "a%2Fb"), ("pw", "p/w")):
        urls.append(f"mysql+pymysql://{user}:{password}@127.0.0.1:3306/airflow")
    return urls


def oracle(version: str, urls: list[str]) -> list[dict]:
    env = {**os.environ, "NODE_AIRFLOW_VERSION": version}
    subprocess.run(
        ["bash", str(NODE_SCRIPT), "install"], env=env, check=True, capture_output=True, timeout=900
    )
    info = json.loads(
        subprocess.run(["bash", str(NODE_SCRIPT), "info"], capture_output=True, check=True).stdout
    )
    python = Path(info["venv"]).parent / VENVS[version] / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", ORACLE],
        input=json.dumps(urls),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def ours(url: str) -> dict:
    def fields(parts):  # type: ignore[no-untyped-def]
        if parts is None:
            return None
        return [parts.scheme, parts.username, parts.password, parts.host, parts.port, parts.database]

    return {"sqlalchemy": fields(sqlalchemy_url(url)), "kombu": fields(kombu_url(url))}


def normalise(row: dict, reader: str) -> list | None:
    value = row[reader]
    if value is None:
        return None
    value = list(value)
    if reader == "kombu":  # kombu gives "" or None for absent parts; compare them alike
        value = [v if v not in ("", None) else None for v in value]
    return value


@pytest.mark.parametrize("version", sorted(VENVS))
def test_urls_are_read_like_sqlalchemy_and_kombu(version: str) -> None:
    urls = corpus()
    theirs = oracle(version, urls)
    differences = []
    for url, expected in zip(urls, theirs, strict=True):
        got = ours(url)
        for reader in ("sqlalchemy", "kombu"):
            if reader == "kombu" and not url.startswith(("redis", "rediss")):
                continue
            if reader == "sqlalchemy" and url.startswith("redis"):
                continue
            if normalise(got, reader) != normalise(expected, reader):
                differences.append(f"{reader} {url!r}: ours {got[reader]} vs {expected[reader]}")
    assert not differences, f"{len(differences)} of {len(urls)} differ on Airflow {version}:\n" + "\n".join(
        differences[:15]
    )
