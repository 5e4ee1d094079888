"""Airflow's own answer for airflow.cfg cases: the oracle of tests/integration/test_cfg_differential.py.

Runs INSIDE an Airflow venv's python (2.x or 3.x), never imported by the grader:

    python tests/cfg_oracle.py CASES.json RESULTS.json            # batch: one process, all cases
    python tests/cfg_oracle.py --fresh CASE.json RESULT.json      # one case the way a process starts

CASES.json: {"home": AIRFLOW_HOME, "cases": [{"id", "cfg_b64", "env"}]}; `env` is the whole
environment of the Airflow process. For each case the cfg bytes are written to
$AIRFLOW_HOME/airflow.cfg and Airflow's parser is built the way `airflow.configuration` builds
it at import (initialize_config -> load_standard_airflow_configuration -> validate), then the
providers' configuration is loaded the way every `airflow ...` command does
(providers_configuration_loaded), and each option is read with `conf.get`.

Batch mode builds a fresh AirflowConfigParser per case in one process, with os.environ replaced by
the case's environment and the module's AIRFLOW_HOME/AIRFLOW_CONFIG/conf pointing at it;
--fresh mode imports airflow in a new process with that environment and reads the module's own
`conf` (the test checks that both agree). Commands (`_cmd`) are never run: run_command is
replaced by a marker "\\x00CMD:<command>"; a secrets backend named
`cfg_oracle.MarkerSecrets` answers "\\x00SECRET:<path>". Batch mode parses config.yml once and
hands each parser a deep copy (the same description, minus 60 ms of YAML per case).
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
import traceback
import warnings
from typing import Any

# The options to read: the grader's own list (grader.airflow_config.WATCHED), sent by the test with
# the cases, so this script (run inside an Airflow venv, without the grader) never drifts from it.
WATCHED: list[tuple[str, str]] = []


class MarkerSecrets:
    """A secrets backend that names what Airflow asked it for."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def get_config(self, key: str) -> str:
        return f"\x00SECRET:{key}"

    def _set_connection_class(self, _cls: Any) -> None:  # Airflow 3 calls it on init
        return None


def _marker_command(command: str) -> str:
    return f"\x00CMD:{command}"


def _error(exc: BaseException) -> dict[str, Any]:
    line = getattr(exc, "lineno", None)
    errors = getattr(exc, "errors", None)
    if line is None and errors:
        line = errors[0][0]
    return {"error": type(exc).__name__, "line": line, "message": str(exc)[:500]}


def _patch(configuration: Any) -> None:
    """Commands become markers; config.yml is parsed once per process (a pure function of the
    installed package, ~60 ms of YAML per parser), each parser gets its own deep copy."""
    configuration.run_command = _marker_command
    original = configuration.retrieve_configuration_description
    parsed: dict[tuple[Any, ...], Any] = {}

    def cached(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        if key not in parsed:
            parsed[key] = original(*args, **kwargs)
        return pickle.loads(pickle.dumps(parsed[key]))  # a deep copy, faster

    configuration.retrieve_configuration_description = cached
    try:
        import airflow._shared.configuration.parser as shared  # Airflow 3

        shared.run_command = _marker_command
    except ImportError:
        pass


def _providers_loaded(conf: Any) -> None:
    """What `airflow <command>` does first (providers_configuration_loaded)."""
    from airflow.providers_manager import ProvidersManager

    ProvidersManager().initialize_providers_configuration()
    if hasattr(conf, "load_providers_configuration") and not getattr(
        conf, "_use_providers_configuration", False
    ):
        conf.load_providers_configuration()


def _read_options(conf: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for section, key in WATCHED:
        try:
            values[f"{section}.{key}"] = {"value": conf.get(section, key)}
        except Exception as exc:
            values[f"{section}.{key}"] = _error(exc)
    # what the Celery app uses as result backend: the celery provider's own config builder; when
    # that fails for another option (a bad `%` anywhere in [celery], a non-boolean flag), the
    # provider's rule for this one value: result_backend if set, else db+ and sql_alchemy_conn
    from airflow.providers.celery.executors import default_celery

    try:
        effective = default_celery.get_default_celery_config(conf)["result_backend"]
        values["celery.result_backend.effective"] = {"value": effective}
    except Exception as exc:
        try:
            if conf.has_option("celery", "RESULT_BACKEND"):
                effective = conf.get_mandatory_value("celery", "RESULT_BACKEND")
            else:
                driver = "psycopg" if getattr(default_celery, "_USE_PSYCOPG3", False) else "psycopg2"
                conn = conf.get("database", "SQL_ALCHEMY_CONN")
                effective = "db+" + conn.replace("postgresql://", f"postgresql+{driver}://", 1)
            values["celery.result_backend.effective"] = {"value": effective, "celery_config": _error(exc)}
        except Exception as inner:
            values["celery.result_backend.effective"] = _error(inner)
    return values


def _one_case_batch(configuration: Any, home: str, case: dict[str, Any]) -> dict[str, Any]:
    path = os.path.join(home, "airflow.cfg")
    with open(path, "wb") as handle:
        handle.write(base64.b64decode(case["cfg_b64"]))
    os.environ.clear()
    os.environ.update(case["env"])
    configuration.AIRFLOW_HOME = configuration.get_airflow_home()
    configuration.AIRFLOW_CONFIG = configuration.get_airflow_config(configuration.AIRFLOW_HOME)
    result: dict[str, Any] = {"id": case["id"], "refused": None, "validate": None}
    parser = configuration.AirflowConfigParser()
    configuration.conf = parser  # the secrets backend lookup reads the module's conf
    try:
        configuration.load_standard_airflow_configuration(parser)
    except Exception as exc:
        result["refused"] = _error(exc)
        return result
    try:
        parser.validate()
    except Exception as exc:
        result["validate"] = _error(exc)
    _providers_loaded(parser)
    result["values"] = _read_options(parser)
    return result


def batch(cases_path: str, out_path: str) -> None:
    with open(cases_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    WATCHED[:] = [tuple(pair) for pair in spec["watched"]]
    home = spec["home"]
    os.makedirs(home, exist_ok=True)
    base_env = dict(spec["cases"][0]["env"]) if spec["cases"] else {}
    with open(os.path.join(home, "airflow.cfg"), "w", encoding="utf-8") as handle:
        handle.write("[core]\n")
    os.environ.clear()
    os.environ.update(base_env)
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.CRITICAL)
    import airflow.configuration as configuration

    _patch(configuration)
    from airflow.providers_manager import ProvidersManager

    ProvidersManager().initialize_providers_configuration()
    results = []
    for case in spec["cases"]:
        try:
            results.append(_one_case_batch(configuration, home, case))
        except Exception:
            results.append({"id": case["id"], "harness_error": traceback.format_exc()[-2000:]})
    import airflow

    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"airflow": airflow.__version__, "results": results}, handle)


def fresh(case_path: str, out_path: str) -> None:
    """One case the way a process starts: the environment is set before airflow is imported."""
    with open(case_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    WATCHED[:] = [tuple(pair) for pair in spec["watched"]]
    case = spec["cases"][0]
    result: dict[str, Any] = {"id": case["id"], "refused": None, "validate": None}
    warnings.simplefilter("ignore")
    try:
        import airflow.configuration as configuration
    except Exception as exc:
        chain: BaseException | None = exc
        while chain is not None and not hasattr(chain, "lineno") and not hasattr(chain, "errors"):
            chain = chain.__cause__ or chain.__context__
        result["import_error"] = _error(chain or exc)
    else:
        _providers_loaded(configuration.conf)
        result["values"] = _read_options(configuration.conf)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"results": [result]}, handle)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for cfg_oracle.MarkerSecrets
    if sys.argv[1] == "--fresh":
        fresh(sys.argv[2], sys.argv[3])
    else:
        batch(sys.argv[1], sys.argv[2])
