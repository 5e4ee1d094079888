"""Resolve the configuration a running Airflow really uses, the way Airflow itself does.

Airflow's lookup for `[section] key` (airflow/configuration.py, 2.x and 3.x alike):
1. environment `AIRFLOW__SECTION__KEY` (also `_CMD` / `_SECRET` variants), then the same for
   the deprecated name of the option;
2. the cfg file, new name first, then the deprecated name (so the guide's singular
   `auth_backend` does nothing once `auth_backends` is in the file);
3. the built-in default.
The file is read by Python's ConfigParser in strict mode: `#`/`;` lines are comments, an
inline `# ...` is part of the value, and a key or section given twice stops Airflow at start.
"""

from __future__ import annotations

import configparser
import posixpath
import re
from dataclasses import dataclass

# new (section, key) -> deprecated (section, key)
DEPRECATED: dict[tuple[str, str], tuple[str, str]] = {
    ("database", "sql_alchemy_conn"): ("core", "sql_alchemy_conn"),
    ("api", "auth_backends"): ("api", "auth_backend"),
}

# The options the grader reads. Nothing else from airflow.cfg (fernet_key, secret_key, ...)
# ever leaves this module.
WATCHED: tuple[tuple[str, str], ...] = (
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


def defaults(major: int, airflow_home: str) -> dict[tuple[str, str], str | None]:
    """Built-in defaults of the options the grader reads, per Airflow major version."""
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
        ("api", "port"): "8080",
        ("scheduler", "catchup_by_default"): "False" if major >= 3 else "True",
        ("webserver", "web_server_port"): "8080",
        ("webserver", "base_url"): "http://localhost:8080",
    }


class ConfigFileError(ValueError):
    """airflow.cfg cannot be read the way Airflow reads it; Airflow would not start."""

    def __init__(self, kind: str, line: int | None = None, where: str = "") -> None:
        super().__init__(f"{kind} at line {line}: {where}")
        self.kind = kind  # duplicate-option | duplicate-section | no-section-header | syntax
        self.line = line
        self.where = where  # "[core] executor" / "[core]" / ""


@dataclass(frozen=True)
class Setting:
    """One effective option: its raw value (may hold a password) and where it came from."""

    value: str | None
    origin: str  # "env:AIRFLOW__CORE__EXECUTOR", "file:[core] line 52", "default", "derived", "cmd"
    line: int | None = None


def parse_numbered(
    entries: list[tuple[int, str]],
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], int]]:
    """Parse the probe's (line number, line) pairs: only the lines that matter, original numbers kept.

    The probe leaves out comment and blank lines, which ConfigParser skips anyway, so parsing the
    ~350 remaining lines of a 2,500-line airflow.cfg gives the same values, several times faster.
    """
    text = "".join(line + "\n" for _, line in entries)
    return parse_cfg(text, [number for number, _ in entries])


def parse_cfg(
    text: str, line_map: list[int] | None = None
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], int]]:
    """Parse airflow.cfg text like Airflow's ConfigParser; return values and their line numbers.

    `line_map[i]` is the file's line number of text line i+1 (when the text is a subset of the file).
    """

    def real(number: int | None) -> int | None:
        if line_map is None or number is None or not 0 < number <= len(line_map):
            return number
        return line_map[number - 1]

    parser = configparser.ConfigParser(interpolation=None, strict=True)  # as Airflow reads it
    try:
        parser.read_string(text, source="airflow.cfg")
    except configparser.DuplicateOptionError as exc:
        raise ConfigFileError("duplicate-option", real(exc.lineno), f"[{exc.section}] {exc.option}") from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigFileError("duplicate-section", real(exc.lineno), f"[{exc.section}]") from None
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigFileError("no-section-header", real(exc.lineno)) from None
    except configparser.ParsingError as exc:
        raise ConfigFileError("syntax", real(exc.errors[0][0]) if exc.errors else None) from None
    values = {section: dict(parser.items(section, raw=True)) for section in parser.sections()}
    line_numbers: dict[tuple[str, str], int] = {}
    section = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if section and not raw[:1].isspace():
            key = stripped.split("=", 1)[0].split(":", 1)[0].strip().lower()
            line_numbers.setdefault((section, key), real(number) or number)
    return values, line_numbers


_VAR = re.compile(r"\$(\w+)|\$\{([^}]*)\}")


def _expand(value: str, env: dict[str, str], home: str) -> str:
    """Airflow's expand_env_var (expandvars + expanduser, repeated) against the process's environment."""
    previous = None
    while previous != value:
        previous = value
        value = _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), value)
        if home and (value == "~" or value.startswith("~/")):
            value = home + value[1:]
    return value


def env_name(section: str, key: str) -> str:
    return f"AIRFLOW__{section.upper()}__{key.upper()}"


def resolve(
    file_values: dict[str, dict[str, str]] | None,
    line_numbers: dict[tuple[str, str], int],
    env: dict[str, str],
    major: int,
    airflow_home: str,
    user_home: str = "",
) -> dict[tuple[str, str], Setting]:
    """Effective values of the WATCHED options, following Airflow's precedence."""
    file_values = file_values or {}
    base = defaults(major, airflow_home)
    result: dict[tuple[str, str], Setting] = {}
    for section, key in WATCHED:
        candidates = [(section, key)]
        if (section, key) in DEPRECATED:
            candidates.append(DEPRECATED[(section, key)])
        setting = None
        for sec, k in candidates:  # 1. environment, new name then deprecated
            name = env_name(sec, k)
            if name in env:
                setting = Setting(_expand(env[name], env, user_home), f"env:{name}")
                break
            for suffix in ("_CMD", "_SECRET"):
                if name + suffix in env:
                    setting = Setting(None, f"env:{name}{suffix}")
                    break
            if setting:
                break
        if setting is None:  # 2. the file, new name then deprecated
            for sec, k in candidates:
                if k in file_values.get(sec, {}):
                    line = line_numbers.get((sec, k))
                    where = f"file:[{sec}] {k}" + (f" (line {line})" if line else "")
                    setting = Setting(_expand(file_values[sec][k], env, user_home), where, line)
                    break
                for suffix in ("_cmd", "_secret"):
                    if k + suffix in file_values.get(sec, {}):
                        line = line_numbers.get((sec, k + suffix))
                        setting = Setting(None, f"file:[{sec}] {k}{suffix}", line)
                        break
                if setting:
                    break
        if setting is None:  # 3. default
            setting = Setting(base.get((section, key)), "default")
        result[(section, key)] = setting
    backend = result[("celery", "result_backend")]
    if backend.value is None and backend.origin == "default":
        conn = result[("database", "sql_alchemy_conn")].value
        result[("celery", "result_backend")] = Setting(f"db+{conn}" if conn else None, "derived")
    return result


def singular_auth_backend_ignored(file_values: dict[str, dict[str, str]] | None) -> bool:
    """The guide's trap: `auth_backend` (singular) is ignored when `auth_backends` is also set."""
    api = (file_values or {}).get("api", {})
    return "auth_backend" in api and "auth_backends" in api
