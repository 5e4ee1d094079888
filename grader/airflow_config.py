"""Resolve the configuration a running Airflow really uses, the way Airflow itself does.

Airflow's `conf.get(section, key)` (airflow/configuration.py on 2.x, the shared parser on 3.x):
1. environment `AIRFLOW__SECTION__KEY`, then `_CMD` and `_SECRET` variants, then the same for the
   deprecated name of the option;
2. the cfg file, new name first, then the deprecated name (so the guide's singular
   `auth_backend` does nothing once `auth_backends` is in the file, and nothing at all on 3.x);
3. `key_cmd` in the file, new name then deprecated; 4. `key_secret` in the file, likewise;
5. the built-in default.
`_CMD`/`_cmd` and `_SECRET`/`_secret` count only for sensitive options (here sql_alchemy_conn,
broker_url, result_backend), and `_secret` only when a secrets backend is configured. The grader
never runs a command nor asks a backend: such a value is None, its origin names the source.
Values from the environment, the file and the defaults go through Airflow's expand_env_var
($VAR, ${VAR}, a leading ~) against the process's environment (the variables the probe keeps);
file values first through ConfigParser's `%` interpolation (`%%` is `%`, `%(key)s` another key
of the section, a lone `%` is an error Airflow raises on reading the option). At start Airflow's
validate() rewrites some values: 2.x turns an empty or deny_all `auth_backends` into session and
appends session to any other that lacks it; 3.x turns SequentialExecutor into LocalExecutor; both
turn a postgres:// metadata URL into postgresql://.

The file is read by Python's ConfigParser the way Airflow builds it: strict (a key or section
given twice stops Airflow at start), `#`/`;` lines are comments, an inline `# ...` is part of the
value, key and section names are case-sensitive (`Executor =` and `[Core]` are not read), a
`[DEFAULT]` section lends its keys to every section, lines end at \\n, \\r\\n or \\r, a UTF-8 BOM
or a byte that is not UTF-8 stops Airflow. The grader's own ConfigParser stands for the node's
(the same on the Python 3.11 of both pinned Airflow venvs).
tests/integration/test_cfg_differential.py checks all of this against Airflow 2.11.2 and 3.3.2.
"""

from __future__ import annotations

import configparser
import io
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Key = tuple[str, str]

# The options the grader reads. Nothing else from airflow.cfg (fernet_key, secret_key, ...)
# ever leaves this module.
WATCHED: tuple[Key, ...] = (
    ("core", "executor"),
    ("core", "auth_manager"),
    ("core", "dags_folder"),
    ("core", "load_examples"),
    ("database", "sql_alchemy_conn"),
    ("celery", "broker_url"),
    ("celery", "result_backend"),
    ("api", "auth_backends"),
    ("api", "port"),
    ("scheduler", "catchup_by_default"),
    ("webserver", "web_server_port"),
    ("webserver", "base_url"),
)

# new (section, key) -> deprecated (section, key), per Airflow major (deprecated_options, the
# entries that matter for WATCHED). Reading the old name reads the new one first.
DEPRECATED_BY_MAJOR: dict[int, dict[Key, Key]] = {
    2: {
        ("database", "sql_alchemy_conn"): ("core", "sql_alchemy_conn"),
        ("api", "auth_backends"): ("api", "auth_backend"),
    },
    3: {
        ("database", "sql_alchemy_conn"): ("core", "sql_alchemy_conn"),
        ("api", "port"): ("webserver", "web_server_port"),
        ("api", "base_url"): ("webserver", "base_url"),
    },
}
DEPRECATED = DEPRECATED_BY_MAJOR[2]  # the guide's Airflow

# Options whose `_cmd` / `_secret` variants Airflow honours (sensitive_config_values, the ones
# that matter here; the same on 2.11 with providers loaded and on 3.x).
SENSITIVE: frozenset[Key] = frozenset(
    {
        ("database", "sql_alchemy_conn"),
        ("core", "sql_alchemy_conn"),
        ("celery", "broker_url"),
        ("celery", "result_backend"),
    }
)

MAX_EXPANSIONS = 32  # Airflow repeats expansion until stable (forever, for A="$A$A"); we stop
_VAR = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)  # posixpath.expandvars
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # the probe's surrogateescape of a non-UTF-8 byte


def _defaults_by_key(major: int, airflow_home: str) -> dict[Key, str | None]:
    """Built-in defaults, by the name Airflow resolves to (None: Airflow has no value at all)."""
    return {
        ("core", "executor"): "LocalExecutor" if major >= 3 else "SequentialExecutor",
        ("core", "auth_manager"): (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            if major >= 3
            else "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
        ),
        ("core", "dags_folder"): posixpath.join(airflow_home, "dags"),
        ("core", "load_examples"): "True",
        ("database", "sql_alchemy_conn"): f"sqlite:///{posixpath.join(airflow_home, 'airflow.db')}",
        ("celery", "broker_url"): "redis://redis:6379/0",
        ("celery", "result_backend"): None,  # derived from sql_alchemy_conn, see resolve()
        ("api", "auth_backends"): None if major >= 3 else "airflow.api.auth.backend.session",
        ("api", "port"): "8080" if major >= 3 else None,
        ("api", "base_url"): None,
        ("scheduler", "catchup_by_default"): "False" if major >= 3 else "True",
        ("webserver", "web_server_port"): None if major >= 3 else "8080",
        ("webserver", "base_url"): None if major >= 3 else "http://localhost:8080",
        ("secrets", "backend"): "",
    }


def _canonical(section: str, key: str, major: int) -> tuple[Key, Key | None]:
    """(the name Airflow looks up, its deprecated name): an old name redirects to the new one."""
    deprecated = DEPRECATED_BY_MAJOR[3 if major >= 3 else 2]
    for new, old in deprecated.items():
        if old == (section, key):
            return new, old
    return (section, key), deprecated.get((section, key))


def defaults(major: int, airflow_home: str) -> dict[Key, str | None]:
    """Built-in defaults of the WATCHED options, per Airflow major version."""
    table = _defaults_by_key(major, airflow_home)
    return {option: table.get(_canonical(*option, major)[0]) for option in WATCHED}


class ConfigFileError(ValueError):
    """airflow.cfg cannot be read the way Airflow reads it; Airflow would not start."""

    def __init__(self, kind: str, line: int | None = None, where: str = "") -> None:
        super().__init__(f"{kind} at line {line}: {where}")
        self.kind = kind  # duplicate-option | duplicate-section | no-section-header | syntax | encoding
        self.line = line
        self.where = where  # "[core] executor" / "[core]" / ""


@dataclass(frozen=True)
class Setting:
    """One effective option: its raw value (may hold a password) and where it came from.

    value None with an `env:..._CMD` / `file:[s] k_cmd` / `..._SECRET` origin: Airflow runs that
    command or asks that secrets backend, the grader cannot know the value. `error`: what Airflow
    raises reading the option (e.g. InterpolationSyntaxError, value None), or, with a value,
    why Airflow stops at start (validate())."""

    value: str | None
    origin: str  # "env:AIRFLOW__CORE__EXECUTOR", "file:[core] executor (line 52)", "default", "derived"
    line: int | None = None
    error: str | None = None


def parse_numbered(
    entries: list[tuple[int, str]],
) -> tuple[dict[str, dict[str, str]], dict[Key, int]]:
    """Parse the probe's (line number, line) pairs: only the lines that matter, original numbers kept.

    The probe leaves out comment lines and the blank lines that are not inside a multi-line
    value (ConfigParser skips both), so parsing the ~350 remaining lines of a 2,500-line
    airflow.cfg gives the same values, several times faster. A line holding a byte that is not
    UTF-8 (sent as a surrogate escape) is always sent: Airflow cannot read that file at all.
    """
    for number, line in entries:
        if _UNDECODABLE.search(line):
            raise ConfigFileError("encoding", number)
    text = "".join(line + "\n" for _, line in entries)
    return parse_cfg(text, [number for number, _ in entries])


class _LineCounter:
    """Feeds ConfigParser line by line and remembers which line it is on."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline=None)  # \n, \r\n and \r end a line, as open() reads
        self.number = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number += 1
        return line


def parse_cfg(
    text: str, line_map: list[int] | None = None
) -> tuple[dict[str, dict[str, str]], dict[Key, int]]:
    """Parse airflow.cfg text like Airflow's ConfigParser; return raw values and their line numbers.

    Each section's values include the keys of a `[DEFAULT]` section, as ConfigParser lends them;
    line numbers of those are under ("DEFAULT", key). `line_map[i]` is the file's line number of
    text line i+1 (when the text is a subset of the file).
    """

    def real(number: int | None) -> int | None:
        if line_map is None or number is None or not 0 < number <= len(line_map):
            return number
        return line_map[number - 1]

    if _UNDECODABLE.search(text):
        number = text[: _UNDECODABLE.search(text).start()].count("\n") + 1  # type: ignore[union-attr]
        raise ConfigFileError("encoding", real(number))
    counter = _LineCounter(text)
    first_seen: dict[int, dict[str, int]] = {}  # id(section dict) -> key -> line

    class Recording(dict):  # every section's options, as ConfigParser stores them
        def __setitem__(self, key: str, value: Any) -> None:
            first_seen.setdefault(id(self), {}).setdefault(key, counter.number)
            super().__setitem__(key, value)

    parser = configparser.ConfigParser(interpolation=None, strict=True, dict_type=Recording)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # Airflow keeps the case
    try:
        parser.read_file(counter, source="airflow.cfg")
    except configparser.DuplicateOptionError as exc:
        raise ConfigFileError("duplicate-option", real(exc.lineno), f"[{exc.section}] {exc.option}") from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigFileError("duplicate-section", real(exc.lineno), f"[{exc.section}]") from None
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigFileError("no-section-header", real(exc.lineno)) from None
    except configparser.ParsingError as exc:
        raise ConfigFileError("syntax", real(exc.errors[0][0]) if exc.errors else None) from None
    values = {section: dict(parser.items(section, raw=True)) for section in parser.sections()}
    line_numbers: dict[Key, int] = {}
    stores = [("DEFAULT", parser._defaults), *parser._sections.items()]  # type: ignore[attr-defined]
    for section, store in stores:
        for key, number in first_seen.get(id(store), {}).items():
            line_numbers[(section, key)] = real(number) or number
    return values, line_numbers


class _Section:
    """What configparser.BasicInterpolation needs of a parser: one section's raw values."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, section: str, option: str, raw: bool = True, fallback: str | None = None) -> str | None:
        return self.values.get(option, fallback)

    @staticmethod
    def optionxform(name: str) -> str:
        return name


def _interpolate(values: dict[str, str], section: str, key: str) -> tuple[str | None, str | None]:
    """ConfigParser's `%` interpolation of a file value, as Airflow's get applies it: (value, error)."""
    parser: Any = _Section(values)
    try:
        return configparser.BasicInterpolation().before_get(parser, section, key, values[key], values), None
    except configparser.Error as exc:
        return None, type(exc).__name__


def _expand(value: str, env: dict[str, str], home: str) -> str | None:
    """Airflow's expand_env_var: expandvars then expanduser, repeated until nothing changes.

    Unknown variables stay as written; `~user` (another user's home) stays too. None when the
    expansion never settles (Airflow would loop forever)."""
    for _ in range(MAX_EXPANSIONS):
        if not value:
            return value
        expanded = _VAR.sub(
            lambda m: env.get(m.group(1).removeprefix("{").removesuffix("}"), m.group(0)), value
        )
        if expanded.startswith("~"):
            end = expanded.find("/", 1)
            end = len(expanded) if end < 0 else end
            user_home = env.get("HOME", home)  # expanduser: $HOME, else the account's home
            if end == 1 and ("HOME" in env or home):
                expanded = (user_home.rstrip("/") + expanded[end:]) or "/"
        if expanded == value or len(expanded) > 1 << 16:
            return expanded if expanded == value else None
        value = expanded
    return None


def env_name(section: str, key: str) -> str:
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{key.upper()}"


class _Resolver:
    """Airflow's conf.get over the file values, the process environment and the defaults."""

    def __init__(
        self,
        file_values: dict[str, dict[str, str]],
        line_numbers: dict[Key, int],
        env: dict[str, str],
        major: int,
        airflow_home: str,
        user_home: str,
    ) -> None:
        self.file = file_values
        self.lines = line_numbers
        self.env = env
        self.major = 3 if major >= 3 else 2
        self.home = user_home
        self.defaults = _defaults_by_key(self.major, airflow_home)
        self._backend: bool | None = None

    def expand(self, value: str | None, origin: str, line: int | None = None) -> Setting:
        if value is None:
            return Setting(None, origin, line)
        expanded = _expand(value, self.env, self.home)
        return Setting(expanded, origin, line, None if expanded is not None else "expansion-loop")

    def backend_configured(self) -> bool:
        """A secrets backend answers `_secret` lookups ([secrets] backend is not empty)."""
        if self._backend is None:
            backend = self.get("secrets", "backend")
            self._backend = bool(backend.value) or backend.error is not None
        return self._backend

    def where(self, section: str, key: str) -> tuple[str, int | None]:
        line = self.lines.get((section, key))
        shown = section
        if line is None and ("DEFAULT", key) in self.lines:
            shown, line = "DEFAULT", self.lines[("DEFAULT", key)]
        return f"file:[{shown}] {key}" + (f" (line {line})" if line else ""), line

    def get(self, section: str, key: str) -> Setting:
        new, old = _canonical(section, key, self.major)
        names = [new] + ([old] if old else [])
        for sec, k in names:  # 1. environment
            name = env_name(sec, k)
            if name in self.env:
                return self.expand(self.env[name], f"env:{name}")
            if (sec, k) in SENSITIVE:
                if name + "_CMD" in self.env:
                    return Setting(None, f"env:{name}_CMD")
                if name + "_SECRET" in self.env and self.backend_configured():
                    return Setting(None, f"env:{name}_SECRET")
        for sec, k in names:  # 2. the file
            values = self.file.get(sec, {})
            if k in values:
                origin, line = self.where(sec, k)
                value, error = _interpolate(values, sec, k)
                if error:
                    return Setting(None, origin, line, error)
                return self.expand(value, origin, line)
        for suffix in ("_cmd", "_secret"):  # 3. commands, 4. secrets backend
            for sec, k in names:
                values = self.file.get(sec, {})
                if (sec, k) not in SENSITIVE or k + suffix not in values:
                    continue
                if suffix == "_secret" and not self.backend_configured():
                    continue
                origin, line = self.where(sec, k + suffix)
                return Setting(None, origin, line, _interpolate(values, sec, k + suffix)[1])
        return self.expand(self.defaults.get(new), "default")  # 5. default


_DENY_ALL_OR_EMPTY = re.compile(r"^airflow\.api\.auth\.backend\.deny_all\Z|^\Z")
SESSION = "airflow.api.auth.backend.session"


def _validated(settings: dict[Key, Setting], resolver: _Resolver) -> None:
    """What Airflow's validate() does at start to the values the grader reads (in place)."""

    def upgrade(option: Key, new_value: str) -> None:  # Airflow sets AIRFLOW__S__K and re-reads it
        old = settings[option]
        settings[option] = Setting(
            _expand(new_value, resolver.env, resolver.home), old.origin, old.line, old.error
        )

    if resolver.major == 2:
        backends = settings[("api", "auth_backends")]
        if backends.value is not None and _DENY_ALL_OR_EMPTY.search(backends.value):
            upgrade(("api", "auth_backends"), _DENY_ALL_OR_EMPTY.sub(SESSION, backends.value))
        backends = settings[("api", "auth_backends")]
        value = backends.value
        if (
            value is not None
            and value not in ("airflow.api.auth.backend.default", "")
            and SESSION not in value
        ):
            upgrade(("api", "auth_backends"), value + "," + SESSION)
    else:
        executor = settings[("core", "executor")]
        if executor.value is not None and "SequentialExecutor" in executor.value:
            upgrade(("core", "executor"), executor.value.replace("SequentialExecutor", "LocalExecutor"))
    conn = settings[("database", "sql_alchemy_conn")]
    if conn.value is not None:
        try:
            scheme = urlsplit(conn.value).scheme
        except ValueError as exc:  # e.g. a '[' in the password: Airflow stops at start
            settings[("database", "sql_alchemy_conn")] = Setting(
                conn.value, conn.origin, conn.line, type(exc).__name__
            )
            return
        if scheme in ("postgres+psycopg2", "postgres"):
            upgrade(
                ("database", "sql_alchemy_conn"),
                re.sub("^" + re.escape(f"{scheme}://"), "postgresql://", conn.value),
            )


def resolve(
    file_values: dict[str, dict[str, str]] | None,
    line_numbers: dict[Key, int],
    env: dict[str, str],
    major: int,
    airflow_home: str,
    user_home: str = "",
) -> dict[Key, Setting]:
    """Effective values of the WATCHED options, following Airflow's precedence.

    `user_home` is used for `~` when the environment has no HOME (Airflow's expanduser)."""
    resolver = _Resolver(file_values or {}, line_numbers, env, major, airflow_home, user_home)
    settings = {option: resolver.get(*option) for option in WATCHED}
    _validated(settings, resolver)
    backend = settings[("celery", "result_backend")]
    if backend.value is None and backend.origin == "default":
        # the Celery app: db+ and sql_alchemy_conn (postgresql:// spelled with its psycopg2 driver)
        conn = settings[("database", "sql_alchemy_conn")]
        derived = (
            f"db+{conn.value.replace('postgresql://', 'postgresql+psycopg2://', 1)}" if conn.value else None
        )
        settings[("celery", "result_backend")] = Setting(
            derived, "derived", None, conn.error if conn.value is None else None
        )
    return settings


def singular_auth_backend_ignored(file_values: dict[str, dict[str, str]] | None) -> bool:
    """The guide's trap: `auth_backend` (singular) is ignored when `auth_backends` is also set."""
    api = (file_values or {}).get("api", {})
    return "auth_backend" in api and "auth_backends" in api
