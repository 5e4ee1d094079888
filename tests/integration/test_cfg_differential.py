"""The grader reads airflow.cfg exactly as Airflow does: a differential test against Airflow itself.

For each pinned Airflow (2.11.2 and 3.3.2, the practice node's venvs, installed by
`practice/node install`, idempotent) a corpus of cases (cfg bytes + the Airflow process's
environment) is built: hand-written cases plus seeded random variations of the REAL default
airflow.cfg that this Airflow writes for a new AIRFLOW_HOME. Airflow's own parser answers through
tests/cfg_oracle.py (one batch process per version); the grader answers the way a grading run
feeds it: the probe's own cfg-reading code (run from grader/remote_probe.py's source), the JSON
round trip, the environment the probe keeps, then observe.build_airflow (parse_numbered + resolve).
Every WATCHED option is compared value by value, and a file Airflow refuses must be refused with
the same kind and line.

`_cmd` / `_secret`: the oracle never runs a command (it records "\\x00CMD:<command>", and a marker
secrets backend answers "\\x00SECRET:<path>"); the grader must then say it cannot know (value None)
and name exactly the source Airflow used, which checks the precedence env > file > _cmd > _secret.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import random
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from grader import airflow_config as cfg
from grader import observe

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = ROOT / "practice" / "node"
ORACLE = ROOT / "tests" / "cfg_oracle.py"
PROBE = ROOT / "grader" / "remote_probe.py"
VERSIONS = ("2.11.2", "3.3.2")
GENERATED = 420  # random cases per version, on top of the hand-written ones
SEED = 20260914
FRESH_CASES = ("percent-encoded-password", "env-override", "bom")  # also each in a new process
# `airflow config get-value` in a new process, one case per version: (case, section, key)
CLI_CASES = {
    "2.11.2": ("auth-backends-basic", "api", "auth_backends"),
    "3.3.2": ("webserver-port-old", "api", "port"),
}
CMD = "\x00CMD:"
SECRET = "\x00SECRET:"
MARKER_BACKEND = "cfg_oracle.MarkerSecrets"


@dataclass
class Case:
    id: str
    data: bytes
    env: dict[str, str] = field(default_factory=dict)  # on top of the base environment
    note: str = ""  # the variations of the real default cfg


# ---- the practice node's Airflow venvs ------------------------------------------------------


def _venv_python(version: str) -> Path:
    env = os.environ | {"NODE_AIRFLOW_VERSION": version}
    subprocess.run(
        ["bash", str(NODE_SCRIPT), "install"], env=env, check=True, capture_output=True, timeout=900
    )
    info = subprocess.run(
        ["bash", str(NODE_SCRIPT), "info"], env=env, check=True, capture_output=True, text=True
    ).stdout
    return Path(json.loads(info)["venv"]) / "bin" / "python"


def _base_env(work: Path) -> dict[str, str]:
    return {
        "HOME": str(work / "user"),
        "AIRFLOW_HOME": str(work / "airflow"),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }


# ---- the corpus ---------------------------------------------------------------------------

HAND: list[tuple[str, str | bytes, dict[str, str]]] = [
    ("plain", "[core]\nexecutor = CeleryExecutor\n", {}),
    ("inline-comment", "[core]\nexecutor = CeleryExecutor # changed\n", {}),
    ("inline-semicolon", "[core]\nexecutor = CeleryExecutor ; changed\n", {}),
    ("colon-separator", "[core]\nexecutor: CeleryExecutor\n[webserver]\nbase_url : http://node:8080\n", {}),
    ("no-spaces", "[core]\nexecutor=CeleryExecutor\n", {}),
    ("tabs", "[core]\nexecutor\t=\tCeleryExecutor\t\n", {}),
    ("key-case", "[core]\nExecutor = CeleryExecutor\n", {}),
    ("key-case-both", "[core]\nexecutor = LocalExecutor\nEXECUTOR = CeleryExecutor\n", {}),
    ("section-case", "[Core]\nexecutor = CeleryExecutor\n", {}),
    ("section-spaces", "[ core ]\nexecutor = CeleryExecutor\n", {}),
    ("section-comment", "[core] # main\nexecutor = CeleryExecutor\n", {}),
    ("duplicate-key", "[core]\nexecutor = LocalExecutor\n\n# again\nexecutor = CeleryExecutor\n", {}),
    (
        "duplicate-section",
        "[core]\nexecutor = A\n[celery]\nbroker_url = x\n[core]\nload_examples = False\n",
        {},
    ),
    ("no-header", "executor = CeleryExecutor\n[core]\n", {}),
    ("garbage-vim", "[core]\nload_examples = False\n:wq\n", {}),
    ("garbage-hangul", "[core]\nㅑㅑ\nexecutor = CeleryExecutor\n", {}),
    ("no-delimiter", "[core]\nexecutor CeleryExecutor\n", {}),
    ("empty-key", "[core]\n= CeleryExecutor\n", {}),
    ("bom", "\ufeff[core]\nexecutor = CeleryExecutor\n", {}),
    ("bom-comment", "\ufeff# airflow\n[core]\nexecutor = CeleryExecutor\n", {}),
    (
        "crlf",
        "[core]\r\nexecutor = CeleryExecutor\r\n[celery]\r\nbroker_url = redis://localhost:6379/0\r\n",
        {},
    ),
    ("cr-only", "[core]\rexecutor = CeleryExecutor\r", {}),
    ("form-feed-in-value", "[core]\nexecutor = Celery\x0cExecutor\n", {}),
    ("line-separator-in-value", "[core]\nexecutor = Celery\u2028Executor\n", {}),
    ("nel-in-value", "[core]\nexecutor = Celery\x85Executor\n", {}),
    ("invalid-utf8", b"[core]\n# caf\xe9\nexecutor = CeleryExecutor\n", {}),
    ("no-final-newline", "[core]\nexecutor = CeleryExecutor", {}),
    ("continuation", "[core]\nexecutor = CeleryExecutor\n    more\n", {}),
    ("continuation-blank", "[core]\nexecutor = CeleryExecutor\n\n    more\n", {}),
    (
        "continuation-blanks-comment",
        "[core]\nexecutor = Celery\n\n  # note\n\n  more\n\n[api]\nport = 1\n",
        {},
    ),
    ("continuation-indented-comment", "[core]\nexecutor = Celery\n    # note\n    more\n", {}),
    ("trailing-blank-lines", "[core]\nexecutor = CeleryExecutor\n\n\n   \n", {}),
    ("indented-key", "[core]\nload_examples = False\n  executor = CeleryExecutor\n", {}),
    ("wrong-section", "[database]\nexecutor = CeleryExecutor\n", {}),
    ("default-section", "[DEFAULT]\nexecutor = CeleryExecutor\n[core]\n", {}),
    ("default-section-no-core", "[DEFAULT]\nexecutor = CeleryExecutor\n[celery]\n", {}),
    ("default-lowercase", "[default]\nexecutor = CeleryExecutor\n[core]\n", {}),
    (
        "percent-encoded-password",
        "[database]\nsql_alchemy_conn = mysql+pymysql://airflow:p%40ss@127.0.0.1/airflow\n",
        {},
    ),
    (
        "percent-doubled",
        "[database]\nsql_alchemy_conn = mysql+pymysql://airflow:p%%40ss@127.0.0.1/airflow\n",
        {},
    ),
    ("percent-reference", "[celery]\nhost = localhost\nbroker_url = redis://%(host)s:6379/0\n", {}),
    ("percent-reference-case", "[celery]\nHost = localhost\nbroker_url = redis://%(Host)s:6379/0\n", {}),
    ("percent-missing", "[celery]\nbroker_url = redis://%(host)s:6379/0\n", {}),
    (
        "percent-default-section",
        "[DEFAULT]\nh = db\n[database]\nsql_alchemy_conn = mysql://a:b@%(h)s/x\n",
        {},
    ),
    ("percent-loop", "[core]\na = %(b)s\nb = %(a)s\nexecutor = %(a)s\n", {}),
    ("percent-trailing", "[core]\nexecutor = Celery%\n", {}),
    ("percent-in-env", "[core]\n", {"AIRFLOW__CORE__EXECUTOR": "Celery%Executor"}),
    ("env-override", "[core]\nexecutor = LocalExecutor\n", {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}),
    ("env-lowercase-name", "[core]\n", {"airflow__core__executor": "CeleryExecutor"}),
    ("env-empty", "[core]\nexecutor = LocalExecutor\n", {"AIRFLOW__CORE__EXECUTOR": ""}),
    (
        "env-deprecated-conn",
        "[database]\nsql_alchemy_conn = sqlite:////x.db\n",
        {"AIRFLOW__CORE__SQL_ALCHEMY_CONN": "mysql://a:b@h/c"},
    ),
    (
        "deprecated-core-conn",
        "[core]\nsql_alchemy_conn = mysql+pymysql://airflow:Bespin12!@localhost/airflow\n",
        {},
    ),
    (
        "both-conns",
        "[core]\nsql_alchemy_conn = mysql://old\n[database]\nsql_alchemy_conn = mysql://new\n",
        {},
    ),
    ("auth-backend-singular", "[api]\nauth_backend = airflow.api.auth.backend.basic_auth\n", {}),
    (
        "auth-backend-both",
        "[api]\nauth_backends = airflow.api.auth.backend.session\n"
        "auth_backend = airflow.api.auth.backend.basic_auth\n",
        {},
    ),
    ("auth-backends-basic", "[api]\nauth_backends = airflow.api.auth.backend.basic_auth\n", {}),
    ("auth-backends-empty", "[api]\nauth_backends =\n", {}),
    ("auth-backends-deny", "[api]\nauth_backends = airflow.api.auth.backend.deny_all\n", {}),
    ("sequential", "[core]\nexecutor = SequentialExecutor\n", {}),
    ("sequential-path", "[core]\nexecutor = airflow.executors.sequential_executor.SequentialExecutor\n", {}),
    ("postgres-scheme", "[database]\nsql_alchemy_conn = postgres://a:b@h/db\n", {}),
    ("webserver-port-old", "[webserver]\nweb_server_port = 8081\nbase_url = http://old:8081\n", {}),
    ("api-port-new", "[api]\nport = 9090\nbase_url = http://new:9090\n", {}),
    (
        "file-cmd-sensitive",
        "[database]\nsql_alchemy_conn_cmd = echo file:[database] sql_alchemy_conn_cmd\n",
        {},
    ),
    ("file-cmd-not-sensitive", "[core]\nexecutor_cmd = echo file:[core] executor_cmd\n", {}),
    (
        "file-cmd-and-value",
        "[celery]\nbroker_url_cmd = echo file:[celery] broker_url_cmd\nbroker_url = redis://x:6379/0\n",
        {},
    ),
    ("file-cmd-deprecated", "[core]\nsql_alchemy_conn_cmd = echo file:[core] sql_alchemy_conn_cmd\n", {}),
    (
        "file-cmd-and-deprecated-value",
        "[core]\nsql_alchemy_conn = mysql://old\n"
        "[database]\nsql_alchemy_conn_cmd = echo file:[database] sql_alchemy_conn_cmd\n",
        {},
    ),
    (
        "env-cmd",
        "[core]\n",
        {"AIRFLOW__CELERY__RESULT_BACKEND_CMD": "echo env:AIRFLOW__CELERY__RESULT_BACKEND_CMD"},
    ),
    (
        "env-cmd-not-sensitive",
        "[core]\n",
        {"AIRFLOW__CORE__EXECUTOR_CMD": "echo env:AIRFLOW__CORE__EXECUTOR_CMD"},
    ),
    (
        "env-cmd-vs-file",
        "[database]\nsql_alchemy_conn = mysql://file\n",
        {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "echo env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"},
    ),
    (
        "env-secret-no-backend",
        "[database]\nsql_alchemy_conn = mysql://file\n",
        {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET": "env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET"},
    ),
    (
        "env-secret-backend",
        "[database]\nsql_alchemy_conn = mysql://file\n",
        {
            "AIRFLOW__SECRETS__BACKEND": MARKER_BACKEND,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET": "env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET",
        },
    ),
    (
        "file-secret-backend",
        f"[secrets]\nbackend = {MARKER_BACKEND}\n"
        "[celery]\nbroker_url_secret = file:[celery] broker_url_secret\n",
        {},
    ),
    ("file-secret-no-backend", "[celery]\nbroker_url_secret = file:[celery] broker_url_secret\n", {}),
    ("expand-home", "[core]\ndags_folder = $HOME/dags\n", {}),
    ("expand-braces", "[core]\ndags_folder = ${AIRFLOW_HOME}/dags\n", {}),
    ("expand-tilde", "[core]\ndags_folder = ~/dags\n", {}),
    ("expand-tilde-alone", "[core]\ndags_folder = ~\n", {}),
    ("expand-tilde-middle", "[database]\nsql_alchemy_conn = sqlite:///~/airflow.db\n", {}),
    ("expand-unset", "[celery]\nbroker_url = redis://$NOPE:6379/0\n", {}),
    ("expand-hangul-after-name", "[core]\ndags_folder = $HOME한글\n", {}),
    ("expand-dollar-password", "[database]\nsql_alchemy_conn = mysql://a:Pa$$w0rd@h/db\n", {}),
    ("expand-nested-env", "[core]\ndags_folder = $AIRFLOW_DAGS\n", {"AIRFLOW_DAGS": "$HOME/d"}),
    ("expand-home-slash", "[core]\ndags_folder = ~/dags\n", {"HOME": "/srv/user/"}),
    ("expand-in-env-override", "[core]\n", {"AIRFLOW__CORE__DAGS_FOLDER": "~/x/$AIRFLOW_HOME"}),
    ("korean-value", "[webserver]\nbase_url = http://노드:8080\n", {}),
    ("empty-value", "[core]\nexecutor =\n", {}),
    ("quoted-value", '[database]\nsql_alchemy_conn = "mysql://a:b@h/db"\n', {}),
]

PASSWORD_CHARS = "abcXYZ0189" + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
EXECUTORS = [
    "CeleryExecutor",
    "LocalExecutor",
    "SequentialExecutor",
    "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
    "celeryexecutor",
]
COMMENTS = [" # 변경함", " ; note", "  #", "#x"]


def _password(rng: random.Random) -> str:
    pw = "".join(rng.choice(PASSWORD_CHARS) for _ in range(rng.randint(6, 14)))
    form = rng.random()
    if form < 0.35:
        return quote(pw, safe="")  # percent-encoded: '%' meets Airflow's interpolation
    if form < 0.55:
        return quote(pw, safe="").replace("%", "%%")  # what the docs say to write
    if form < 0.7:
        return '"' + pw + '"'
    return pw


def _value(rng: random.Random, key: str) -> str:
    if key.startswith("sql_alchemy_conn"):
        host = rng.choice(["127.0.0.1", "localhost", "$HOME", "${AIRFLOW_HOME}", "db"])
        return f"mysql+pymysql://airflow:{_password(rng)}@{host}:3306/airflow"
    if key in ("broker_url", "result_backend"):
        prefix = "db+mysql://airflow:" if key == "result_backend" and rng.random() < 0.5 else "redis://:"
        return f"{prefix}{_password(rng)}@localhost:6379/0"
    if key == "executor":
        return rng.choice(EXECUTORS)
    if key.startswith("auth_backend"):
        return rng.choice(
            [
                "airflow.api.auth.backend.basic_auth",
                "airflow.api.auth.backend.session",
                "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
                "airflow.api.auth.backend.deny_all",
                "",
            ]
        )
    if key in ("dags_folder",):
        return rng.choice(
            ["~/dags", "$AIRFLOW_HOME/dags", "${HOME}/airflow/dags", "/srv/dags", "~nobody_here/dags"]
        )
    if key in ("port", "web_server_port"):
        return rng.choice(["8080", "8793", " 8081", "80%%"])
    if key == "base_url":
        return rng.choice(["http://localhost:8080", "http://노드:8080/", "http://$HOSTNAME:8080"])
    return rng.choice(["True", "False", "true", "0", "yes"])


WATCHED_KEYS = [
    ("core", "executor"),
    ("core", "dags_folder"),
    ("core", "load_examples"),
    ("core", "auth_manager"),
    ("database", "sql_alchemy_conn"),
    ("core", "sql_alchemy_conn"),
    ("celery", "broker_url"),
    ("celery", "result_backend"),
    ("api", "auth_backends"),
    ("api", "auth_backend"),
    ("api", "port"),
    ("api", "base_url"),
    ("scheduler", "catchup_by_default"),
    ("webserver", "web_server_port"),
    ("webserver", "base_url"),
]


class Cfg:
    """A cfg being varied, as lines."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def header(self, section: str) -> int | None:
        for i, line in enumerate(self.lines):
            if line.strip() == f"[{section}]":
                return i
        return None

    def end_of(self, start: int) -> int:
        for i in range(start + 1, len(self.lines)):
            if self.lines[i].startswith("["):
                return i
        return len(self.lines)

    def key_line(self, section: str, key: str) -> int | None:
        start = self.header(section)
        if start is None:
            return None
        pattern = re.compile(rf"^(#\s*)?{re.escape(key)}\s*[=:]")
        for i in range(start + 1, self.end_of(start)):
            if pattern.match(self.lines[i]):
                return i
        return None

    def insert_in(self, section: str, lines: list[str]) -> int:
        start = self.header(section)
        if start is None:
            self.lines += [f"[{section}]", *lines]
            return len(self.lines) - len(lines)
        at = start + 1
        self.lines[at:at] = lines
        return at

    def set(self, section: str, key: str, line: str) -> int:
        at = self.key_line(section, key)
        if at is None:
            return self.insert_in(section, [line])
        self.lines[at] = line
        return at


OPERATIONS = {  # variation -> weight
    "set": 4,
    "dup": 1,
    "cmd": 1,
    "secret": 1,
    "continuation": 1,
    "wrong-section": 1,
    "header": 1,
    "dup-section": 1,
    "default-section": 1,
    "garbage": 1,
    "comment-out": 1,
    "indent-key": 1,
    "env": 2,
    "env-cmd": 1,
    "env-secret": 1,
    "secrets-backend": 1,
}


def _mutate(rng: random.Random, doc: Cfg, env: dict[str, str]) -> str:
    """Apply one random variation; return what it did (shown when the case disagrees)."""
    section, key = rng.choice(WATCHED_KEYS)
    op = rng.choices(list(OPERATIONS), weights=list(OPERATIONS.values()), k=1)[0]
    keyform = key if rng.random() < 0.85 else rng.choice([key.upper(), key.capitalize()])
    sep = rng.choice([" = ", " = ", "=", " : ", ": ", "\t=\t", " =  "])
    value = _value(rng, key)
    comment = rng.choice(COMMENTS) if rng.random() < 0.12 else ""
    if op == "set":
        doc.set(section, key, f"{keyform}{sep}{value}{comment}")
    elif op == "dup":
        doc.set(section, key, f"{key} = {value}")
        at = doc.key_line(section, key) or 0
        between = rng.choice([[""], ["# again"], []])
        doc.lines[at + 1 : at + 1] = [*between, f"{keyform}{sep}{_value(rng, key)}"]
    elif op == "cmd":
        doc.insert_in(section, [f"{key}_cmd = echo file:[{section}] {key}_cmd"])
    elif op == "secret":
        doc.insert_in(section, [f"{key}_secret = file:[{section}] {key}_secret"])
    elif op == "continuation":
        at = doc.set(section, key, f"{key} = {value}")
        extra = rng.choice(
            [
                ["", "    more"],
                ["    # note", "    more"],
                ["", "  # c", "", "\tmore"],
                ["  more", ""],
                [" ", "  x"],
            ]
        )
        doc.lines[at + 1 : at + 1] = extra
    elif op == "wrong-section":
        other = rng.choice(["database", "core", "celery", "webserver", "logging"])
        doc.insert_in(other, [f"{key} = {value}"])
    elif op == "header":
        at = doc.header(section)
        if at is not None:
            doc.lines[at] = rng.choice(
                [
                    f"[{section.capitalize()}]",
                    f"[ {section} ]",
                    f"[{section}] # x",
                    f"[{section}]  ",
                    f"[{section.upper()}]",
                ]
            )
    elif op == "dup-section":
        doc.lines += [f"[{section}]", f"{key} = {value}"]
    elif op == "default-section":
        doc.lines[0:0] = ["[DEFAULT]", f"{key} = {value}"]
    elif op == "garbage":
        at = rng.randrange(1, len(doc.lines))
        doc.lines.insert(at, rng.choice([":wq", "ㅑㅑ", "executor CeleryExecutor", "= x", "i", "[core"]))
    elif op == "comment-out":
        at = doc.key_line(section, key)
        if at is not None and not doc.lines[at].startswith("#"):
            doc.lines[at] = rng.choice(["# ", "; ", "  # ", "#"]) + doc.lines[at]
    elif op == "indent-key":
        at = doc.key_line(section, key)
        if at is not None:
            doc.lines[at] = rng.choice(["  ", "\t", " "]) + doc.lines[at]
    elif op == "env":
        env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value
    elif op == "env-cmd":
        name = f"AIRFLOW__{section.upper()}__{key.upper()}_CMD"
        env[name] = f"echo env:{name}"
    elif op == "env-secret":
        name = f"AIRFLOW__{section.upper()}__{key.upper()}_SECRET"
        env[name] = f"env:{name}"
    elif op == "secrets-backend":
        if rng.random() < 0.5:
            env["AIRFLOW__SECRETS__BACKEND"] = MARKER_BACKEND
        else:
            doc.set("secrets", "backend", f"backend = {MARKER_BACKEND}")
    return f"{op} [{section}] {key}"


def _encode(rng: random.Random, text: str) -> tuple[bytes, str]:
    roll, how = rng.random(), "utf-8, \\n"
    if roll < 0.08:
        text, how = text.replace("\n", "\r\n"), "CRLF"
    elif roll < 0.11:
        text, how = text.replace("\n", "\r"), "CR"
    elif roll < 0.14:
        text, how = "\ufeff" + text, "BOM"
    elif roll < 0.16:
        text, how = text.rstrip("\n"), "no final newline"
    data = text.encode("utf-8")
    if rng.random() < 0.03:  # one byte that is not UTF-8, in a comment
        at = data.find(b"\n#")
        if at >= 0:
            data, how = data[: at + 2] + b"\xff" + data[at + 2 :], how + ", a 0xff byte"
    return data, how


def corpus(default_cfg: str, major: int) -> list[Case]:
    """The hand-written cases, the real default cfg, and GENERATED seeded variations of it."""
    cases = [Case(name, text if isinstance(text, bytes) else text.encode(), env) for name, text, env in HAND]
    cases.append(Case("real-default", default_cfg.encode()))
    rng = random.Random(f"{SEED}-{major}")
    for n in range(GENERATED):
        doc, env = Cfg(default_cfg), {}
        notes = [_mutate(rng, doc, env) for _ in range(rng.choice([1, 1, 2, 2, 3, 4]))]
        data, encoding = _encode(rng, "\n".join(doc.lines))
        cases.append(Case(f"gen-{n}", data, env, " | ".join([*notes, encoding])))
    return cases


# ---- the grader's side: the probe's own code, the JSON round trip, observe.build_airflow ----


def _probe_namespace() -> tuple[dict[str, Any], list[ast.stmt]]:
    """The probe's module (without its last line, which runs it) and the body that reads a cfg file."""
    tree = ast.parse(PROBE.read_text(encoding="utf-8"))
    module = ast.Module(body=tree.body[:-1], type_ignores=[])
    namespace: dict[str, Any] = {"__name__": "remote_probe"}
    exec(compile(module, str(PROBE), "exec"), namespace)
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    reader = next(
        n for n in ast.walk(main) if isinstance(n, ast.If) and ast.unparse(n.test) == "data is not None"
    )
    return namespace, reader.body


def _probe_env(env: dict[str, str], namespace: dict[str, Any]) -> dict[str, str]:
    """The environment as the probe sends it: only the variables it keeps (ENV_KEEP)."""
    keep = namespace["ENV_KEEP"]
    return {k: v for k, v in env.items() if keep.match(f"{k}=")}


def grader_answer(
    case: Case, base: dict[str, str], version: str, work: Path, probe: tuple[dict[str, Any], list[ast.stmt]]
):
    namespace, reader = probe
    env = base | case.env
    path = work / "grader-case.cfg"
    path.write_bytes(case.data)
    entry: dict[str, Any] = {"path": str(Path(env["AIRFLOW_HOME"]) / "airflow.cfg"), "state": "ok"}
    scope = dict(namespace) | {"path": str(path), "data": case.data, "entry": entry}
    exec(compile(ast.Module(body=reader, type_ignores=[]), str(PROBE), "exec"), scope)
    entry = json.loads(json.dumps(entry))  # what crosses SSH
    raw = {
        "home": base["HOME"],
        "uid": 1000,
        "files": [entry],
        "installs": [f"/venv/lib/python3.11/site-packages/apache_airflow-{version}.dist-info"],
    }
    facts, resolved = observe.build_airflow(raw, [], [], _probe_env(env, namespace), 4242)
    return facts, resolved


# ---- comparing ------------------------------------------------------------------------------

REFUSALS = {
    "DuplicateOptionError": "duplicate-option",
    "DuplicateSectionError": "duplicate-section",
    "MissingSectionHeaderError": "no-section-header",
    "ParsingError": "syntax",
    "UnicodeDecodeError": "encoding",
}


def _undecodable_line(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8")
        return prefix.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    return None


def _marker_source(marker: str) -> str:
    """`\\x00CMD:echo env:NAME` -> `env:NAME`; `\\x00SECRET:file:[s] k_secret` -> that."""
    body = marker.split(":", 1)[1]
    return body.removeprefix("echo ")


def compare(case: Case, oracle: dict[str, Any], facts, resolved) -> list[str]:
    """Differences between Airflow's answer and the grader's, one line each."""
    if "harness_error" in oracle:
        return [f"oracle harness error: {oracle['harness_error']}"]
    refused = oracle.get("refused")
    problem = facts.config_problem
    if refused:
        kind = REFUSALS.get(refused["error"], refused["error"])
        line = _undecodable_line(case.data) if kind == "encoding" else refused["line"]
        got = (problem.kind, problem.line) if problem else (facts.config_state, None)
        return [] if got == (kind, line) else [f"refused: Airflow {kind} line {line}, grader {got}"]
    if facts.config_state != "ok":
        return [f"Airflow reads the file, grader says {facts.config_state} {problem}"]
    diffs = []
    values = oracle["values"]
    stopped = oracle.get("validate")
    if stopped and not any(getattr(s, "error", None) == stopped["error"] for s in resolved.settings.values()):
        diffs.append(
            f"Airflow stops at start ({stopped['error']}: {stopped['message'][:120]}), grader does not say so"
        )
    for section, key in cfg.WATCHED:
        name = f"{section}.{key}"
        expected = values[name]
        setting = resolved.settings[(section, key)]
        got = (setting.value, setting.origin, getattr(setting, "error", None))
        if name == "celery.result_backend" and "not found" in expected.get("message", ""):
            expected = values["celery.result_backend.effective"]
            if setting.origin != "derived":
                diffs.append(f"{name}: Airflow derives it, grader origin {setting.origin!r}")
                continue
        if "value" in expected:
            value = expected["value"]
            if value.startswith((CMD, SECRET)) or (
                name == "celery.result_backend"
                and setting.origin == "derived"
                and (CMD in value or SECRET in value)
            ):
                source = _marker_source(value[value.index("\x00") :])
                ok = setting.value is None and (
                    setting.origin == "derived" or setting.origin.startswith(source)
                )
                if not ok:
                    diffs.append(f"{name}: Airflow uses {source!r}, grader {got!r}")
            elif setting.value != value:
                diffs.append(f"{name}: Airflow {value!r}, grader {got!r}")
        elif expected["error"] == "AirflowConfigException" and "not found" in expected["message"]:
            if setting.value is not None or setting.origin != "default":
                diffs.append(f"{name}: Airflow has no value (not found), grader {got!r}")
        elif setting.value is not None or getattr(setting, "error", None) != expected["error"]:
            diffs.append(f"{name}: Airflow raises {expected['error']}, grader {got!r}")
    return diffs


# ---- running it -----------------------------------------------------------------------------


@dataclass
class Run:
    version: str
    cases: list[Case]
    base: dict[str, str]
    oracle: dict[str, dict[str, Any]]
    fresh: dict[str, dict[str, Any]]
    cli: str
    work: Path
    seconds: float


def _cases_json(cases: list[Case], base: dict[str, str], home: str) -> str:
    return json.dumps(
        {
            "home": home,
            "watched": [list(pair) for pair in cfg.WATCHED],
            "cases": [
                {"id": c.id, "cfg_b64": base64.b64encode(c.data).decode(), "env": base | c.env} for c in cases
            ],
        }
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    if os.geteuid() != 0:
        pytest.fail("needs root (run as root: bash scripts/test.sh)")
    started = time.monotonic()
    pythons = {v: _venv_python(v) for v in VERSIONS}
    work = {v: tmp_path_factory.mktemp(f"cfg-{v}") for v in VERSIONS}
    bases = {v: _base_env(work[v]) for v in VERSIONS}
    # 1. the real default airflow.cfg each Airflow writes for a new AIRFLOW_HOME
    makers = {}
    for v in VERSIONS:
        Path(bases[v]["HOME"]).mkdir()
        script = "from airflow.configuration import write_default_airflow_configuration_if_needed as w; w()"
        makers[v] = subprocess.Popen(
            [str(pythons[v]), "-c", script],
            env=bases[v],
            cwd=work[v],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    corpora = {}
    for v in VERSIONS:
        assert makers[v].wait(timeout=120) == 0, makers[v].stderr.read().decode()[-2000:]
        default_cfg = (Path(bases[v]["AIRFLOW_HOME"]) / "airflow.cfg").read_text(encoding="utf-8")
        corpora[v] = corpus(default_cfg, int(v.split(".")[0]))
    # 2. Airflow's answers: one batch process per version, and a few cases in fresh processes
    procs: dict[str, subprocess.Popen] = {}
    fresh_procs: list[tuple[str, str, subprocess.Popen, Path]] = []
    for v in VERSIONS:
        cases_file = work[v] / "cases.json"
        cases_file.write_text(_cases_json(corpora[v], bases[v], bases[v]["AIRFLOW_HOME"]), encoding="utf-8")
        procs[v] = subprocess.Popen(
            [str(pythons[v]), str(ORACLE), str(cases_file), str(work[v] / "results.json")],
            env=bases[v],
            cwd=work[v],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    for v in VERSIONS:
        for case in (c for c in corpora[v] if c.id in FRESH_CASES):
            # same AIRFLOW_HOME and HOME as the batch, the case's file named by AIRFLOW_CONFIG
            home = work[v] / f"fresh-{case.id}"
            home.mkdir()
            (home / "airflow.cfg").write_bytes(case.data)
            env = bases[v] | case.env | {"AIRFLOW_CONFIG": str(home / "airflow.cfg")}
            (home / "case.json").write_text(_cases_json([case], bases[v], str(home)), encoding="utf-8")
            command = [
                str(pythons[v]),
                str(ORACLE),
                "--fresh",
                str(home / "case.json"),
                str(home / "result.json"),
            ]
            proc = subprocess.Popen(
                command, env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            fresh_procs.append((v, case.id, proc, home / "result.json"))
    cli_procs = {}
    for v in VERSIONS:
        case_id, section, key = CLI_CASES[v]
        case = next(c for c in corpora[v] if c.id == case_id)
        (work[v] / "cli.cfg").write_bytes(case.data)
        env = bases[v] | case.env | {"AIRFLOW_CONFIG": str(work[v] / "cli.cfg")}
        command = [str(pythons[v].with_name("airflow")), "config", "get-value", section, key]
        cli_procs[v] = subprocess.Popen(
            command, env=env, cwd=work[v], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    result: dict[str, Run] = {}
    for v in VERSIONS:
        _, err = procs[v].communicate(timeout=300)
        assert procs[v].returncode == 0, err.decode()[-3000:]
        answers = json.loads((work[v] / "results.json").read_text(encoding="utf-8"))
        assert answers["airflow"] == v
        result[v] = Run(
            v, corpora[v], bases[v], {r["id"]: r for r in answers["results"]}, {}, "", work[v], 0.0
        )
    for v, case_id, proc, out in fresh_procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]
        result[v].fresh[case_id] = json.loads(out.read_text(encoding="utf-8"))["results"][0]
    for v in VERSIONS:
        out, _ = cli_procs[v].communicate(timeout=300)
        result[v].cli = out.decode("utf-8", "replace")
        result[v].seconds = time.monotonic() - started
    return result


@pytest.mark.parametrize("version", VERSIONS)
def test_grader_reads_the_cfg_like_airflow(runs: dict[str, Run], version: str) -> None:
    run = runs[version]
    probe = _probe_namespace()
    agree, diffs = 0, []
    for case in run.cases:
        facts, resolved = grader_answer(case, run.base, version, run.work, probe)
        found = compare(case, run.oracle[case.id], facts, resolved)
        if found:
            diffs.append((case, found))
        else:
            agree += 1
    shown = "\n".join(
        f"--- {case.id} env={case.env}\n    " + "\n    ".join(found) + "\n    cfg: " + _excerpt(case)
        for case, found in diffs[:8]
    )
    assert not diffs, f"Airflow {version}: {agree}/{len(run.cases)} cases agree; first differences:\n{shown}"
    print(f"Airflow {version}: {agree}/{len(run.cases)} cases agree")


def _excerpt(case: Case) -> str:
    if len(case.data) < 400:
        return repr(case.data)
    return f"the real default cfg ({len(case.data)} bytes) with: {case.note}"


@pytest.mark.parametrize("version", VERSIONS)
def test_batch_oracle_matches_a_fresh_airflow_process(runs: dict[str, Run], version: str) -> None:
    """One AirflowConfigParser per case in one process answers like a new process per case."""
    run = runs[version]
    assert set(run.fresh) == set(FRESH_CASES)
    for case_id, fresh in run.fresh.items():
        batch = run.oracle[case_id]
        if "import_error" in fresh:  # Airflow stops at import: reading the file, or validate()
            stopped = batch["refused"] or batch["validate"]
            assert stopped is not None, case_id
            assert fresh["import_error"]["error"] == stopped["error"], case_id
            continue
        assert fresh["values"] == batch["values"], case_id


@pytest.mark.parametrize("version", VERSIONS)
def test_batch_oracle_matches_airflow_config_get_value(runs: dict[str, Run], version: str) -> None:
    """`airflow config get-value` (a new process, Airflow's own CLI) prints the batch's value."""
    run = runs[version]
    case_id, section, key = CLI_CASES[version]
    expected = run.oracle[case_id]["values"][f"{section}.{key}"]["value"]
    assert run.cli.rstrip("\n").splitlines()[-1] == expected  # Airflow 3 logs warnings to stdout first


@pytest.mark.parametrize("version", VERSIONS)
def test_corpus_is_large_and_varied(runs: dict[str, Run], version: str) -> None:
    run = runs[version]
    refused = sum(1 for r in run.oracle.values() if r.get("refused"))
    commands = sum(
        1
        for r in run.oracle.values()
        if any(CMD in str(v.get("value")) for v in r.get("values", {}).values())
    )
    assert len(run.cases) >= 400
    assert 20 <= refused <= len(run.cases) // 2, refused
    assert commands >= 10, commands
