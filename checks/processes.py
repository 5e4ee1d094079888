"""Which running process is which service, by its program and title (never by a grep of `ps`).

Titles matter: Airflow and Celery retitle their processes (setproctitle), e.g.
`[celeryd: celery@host:MainProcess] -active- (celery worker)` or `gunicorn: master [airflow-webserver]`.
Zombies are never a running service.
"""

from __future__ import annotations

import functools
import posixpath
import re

from grader.facts import Facts, Proc

# redis6-server: AL2023's redis6 package; valkey-server: the Redis fork AL2023 also ships.
REDIS_SERVERS = {"redis-server", "redis6-server", "valkey-server"}
MYSQL_SERVERS = {"mysqld", "mariadbd"}


def program(proc: Proc) -> str:
    """The program's file name (`redis6-server`, `mariadbd`...), from argv or the title."""
    first = proc.argv[0] if len(proc.argv) > 1 else proc.title.split(" ", 1)[0]
    return posixpath.basename(first) if first else ""


def airflow_subcommand(proc: Proc) -> str | None:
    """`airflow scheduler` -> "scheduler"; `airflow celery worker` -> "celery worker"; titles too."""
    return _subcommand(tuple(proc.argv), proc.title)


@functools.lru_cache(maxsize=8192)  # every check asks about every process; a class run, many times
def _subcommand(argv_given: tuple[str, ...], title: str) -> str | None:
    # A retitled process (setproctitle) shows its whole title as one argv element.
    argv = argv_given if len(argv_given) > 1 else tuple(title.split())
    for index, arg in enumerate(argv[:3]):
        if posixpath.basename(arg) == "airflow" and index + 1 < len(argv):
            words = [a for a in argv[index + 1 : index + 3] if not a.startswith("-")]
            if words and words[0] == "celery" and len(words) > 1:
                return f"celery {words[1]}"
            return words[0] if words else None
    match = re.match(
        r"airflow (api_server|api-server|scheduler|webserver|dag-processor|dag_processor|triggerer)\b", title
    )
    if match:
        return match.group(1).replace("_", "-")
    return None


def runs_program(proc: Proc, names: set[str] | frozenset[str], prefix: str = "") -> bool:
    """Whether the program really running (/proc/PID/exe, when the probe could read it) is one of
    `names` (or starts with `prefix`): a `sleep` renamed `redis-server` by `exec -a` is not Redis.
    When the executable could not be read (another user's process), the title is all there is."""
    if not proc.exe:
        return True
    base = posixpath.basename(proc.exe.removesuffix(" (deleted)"))
    return base in names or bool(prefix and base.startswith(prefix))


def impostor(proc: Proc) -> bool:
    """A process titled as a service of the 과제 whose executable is another program."""
    if program(proc) in REDIS_SERVERS or proc.title.split(" ", 1)[0] in REDIS_SERVERS:
        return not runs_program(proc, REDIS_SERVERS)
    if program(proc) in MYSQL_SERVERS:
        return not runs_program(proc, MYSQL_SERVERS)
    if airflow_subcommand(proc) is not None or proc.title.startswith(("[celeryd:", "gunicorn:")):
        return not runs_program(proc, set(), prefix="python")
    return False


def is_redis_server(proc: Proc) -> bool:
    if proc.zombie or not runs_program(proc, REDIS_SERVERS):
        return False
    if program(proc) in REDIS_SERVERS:
        return "[sentinel]" not in proc.title
    first = proc.title.split(" ", 1)[0]
    return first in REDIS_SERVERS and "[sentinel]" not in proc.title


def is_mysql_server(proc: Proc) -> bool:
    return not proc.zombie and program(proc) in MYSQL_SERVERS and runs_program(proc, MYSQL_SERVERS)


def _python(proc: Proc) -> bool:
    """Airflow and Celery processes are Python, whatever their title says."""
    return runs_program(proc, set(), prefix="python")


def is_webserver(proc: Proc) -> bool:
    """Airflow 2 webserver: the `airflow webserver` parent or its gunicorn master."""
    if proc.zombie or not _python(proc):
        return False
    return airflow_subcommand(proc) == "webserver" or "gunicorn: master [airflow-webserver]" in proc.title


def is_api_server(proc: Proc) -> bool:
    """Airflow 3 `airflow api-server` (title `airflow api_server -- host:... port:...`)."""
    return not proc.zombie and _python(proc) and airflow_subcommand(proc) in ("api-server", "api_server")


def is_scheduler(proc: Proc) -> bool:
    if proc.zombie or "DagFileProcessor" in proc.title or not _python(proc):  # the manager, its children
        return False
    return airflow_subcommand(proc) == "scheduler"


def is_dag_processor(proc: Proc) -> bool:
    return (
        not proc.zombie and _python(proc) and airflow_subcommand(proc) in ("dag-processor", "dag_processor")
    )


def is_celery_worker(proc: Proc) -> bool:
    """The Celery worker's main process started by `airflow celery worker`."""
    if proc.zombie or not _python(proc):
        return False
    if airflow_subcommand(proc) == "celery worker":
        return True
    return bool(re.match(r"\[celeryd: [^\]]*:MainProcess\]", proc.title)) and "(celery worker" in proc.title


def is_celery_pool_child(proc: Proc) -> bool:
    return not proc.zombie and bool(re.match(r"\[celeryd: [^\]]*:ForkPoolWorker-\d+\]", proc.title))


def is_local_executor_worker(proc: Proc) -> bool:
    return not proc.zombie and "-- LocalExecutor" in proc.title


def is_airflow_process(proc: Proc) -> bool:
    if not _python(proc):
        return False
    return _is_airflow_process(tuple(proc.argv), proc.title, proc.zombie)


@functools.lru_cache(maxsize=8192)
def _is_airflow_process(argv: tuple[str, ...], title: str, zombie: bool) -> bool:
    proc = Proc(
        pid=0,
        ppid=0,
        uid=None,
        user="",
        state="Z" if zombie else "S",
        elapsed=0.0,
        title=title,
        argv=list(argv),
    )
    return (
        any(
            test(proc)
            for test in (is_webserver, is_api_server, is_scheduler, is_dag_processor, is_celery_worker)
        )
        or airflow_subcommand(proc) is not None
    )


def find(facts: Facts, test) -> list[Proc]:  # type: ignore[no-untyped-def]
    return [p for p in facts.processes if test(p)]
