"""Which process is which service, from titles really seen on the practice node."""

from __future__ import annotations

import pytest

from checks import processes as P
from grader import observe
from grader.facts import Proc, ProcDetail

TESTS = {
    "redis": P.is_redis_server,
    "mysql": P.is_mysql_server,
    "webserver": P.is_webserver,
    "api-server": P.is_api_server,
    "scheduler": P.is_scheduler,
    "dag-processor": P.is_dag_processor,
    "celery-worker": P.is_celery_worker,
    "celery-child": P.is_celery_pool_child,
    "local-worker": P.is_local_executor_worker,
}


def retitled(title: str, state: str = "S", pid: int = 100, ppid: int = 1) -> Proc:
    """A process that rewrote its title (setproctitle): one argv element holding the whole title."""
    return Proc(pid, ppid, 1001, "ec2-user", state, 10.0, title, [title])


def spawned(title: str, state: str = "S", pid: int = 100, ppid: int = 1) -> Proc:
    """A plain exec'd process: argv as given on the command line."""
    return Proc(pid, ppid, 1001, "ec2-user", state, 10.0, title, title.split())


def kinds(proc: Proc) -> set[str]:
    return {name for name, test in TESTS.items() if test(proc)}


@pytest.mark.parametrize(
    ("proc", "expected"),
    [
        (retitled("[celeryd: celery@vm:MainProcess] -active- (celery worker)"), {"celery-worker"}),
        (retitled("[celeryd: celery@vm:ForkPoolWorker-3]"), {"celery-child"}),
        (retitled("gunicorn: master [airflow-webserver]"), {"webserver"}),
        (retitled("[ready] gunicorn: worker [airflow-webserver]"), set()),
        (retitled("gunicorn: master [gunicorn]"), set()),  # the worker's log server
        (retitled("airflow scheduler -- DagFileProcessorManager"), set()),
        (
            retitled(
                "airflow scheduler - DagFileProcessor /venv/lib/python3.11/site-packages/airflow/example_dags/example_dag_decorator.py"
            ),
            set(),
        ),
        (retitled("/venv/bin/python3.11 /venv/bin/airflow scheduler"), {"scheduler"}),
        (spawned("/venv/bin/python3.11 /venv/bin/airflow scheduler"), {"scheduler"}),
        (spawned("/venv/bin/python3.11 /venv/bin/airflow webserver --port 8080"), {"webserver"}),
        (spawned("/venv/bin/python3.11 /venv/bin/airflow celery worker"), {"celery-worker"}),
        (spawned("/venv/bin/python3.11 /venv/bin/airflow dag-processor"), {"dag-processor"}),
        (retitled("airflow api_server -- host:0.0.0.0 port:8080"), {"api-server"}),
        (spawned("/venv/bin/python3.11 /venv/bin/airflow api-server --port 8080"), {"api-server"}),
        (retitled("airflow worker -- LocalExecutor"), {"local-worker"}),
        (spawned("redis-cli ping"), set()),
        (spawned("redis-server *:26379 [sentinel]"), set()),
        (retitled("redis-server *:26379 [sentinel]"), set()),
        (retitled("/usr/bin/redis6-server 127.0.0.1:6379"), {"redis"}),
        (retitled("redis-server 127.0.0.1:6379"), {"redis"}),
        (retitled("/usr/bin/valkey-server 127.0.0.1:6379"), {"redis"}),
        (spawned("valkey-cli ping"), set()),
        (spawned("/usr/sbin/mariadbd --user=mysql --port=3306"), {"mysql"}),
        (spawned("/usr/sbin/mysqld --basedir=/usr"), {"mysql"}),
        (spawned("/bin/sh /usr/bin/mysqld_safe --datadir=/var/lib/mysql"), set()),
        (spawned("tail -f /var/log/mysqld.log"), set()),
        (spawned("grep redis-server"), set()),
        (spawned("vim /home/ec2-user/airflow/airflow.cfg"), set()),
    ],
    ids=lambda v: v.title[:60] if isinstance(v, Proc) else None,
)
def test_classification(proc, expected):
    assert kinds(proc) == expected


def test_zombie_redis_is_not_running():
    assert P.is_redis_server(retitled("redis-server 127.0.0.1:6379"))
    assert not P.is_redis_server(retitled("redis-server 127.0.0.1:6379", state="Z"))
    assert not P.is_redis_server(retitled("redis-server 127.0.0.1:6379", state="X"))


@pytest.mark.parametrize(
    "proc",
    [
        spawned("/usr/sbin/mysqld", state="Z"),
        retitled("[celeryd: celery@vm:MainProcess] -active- (celery worker)", state="Z"),
        retitled("gunicorn: master [airflow-webserver]", state="Z"),
        spawned("/venv/bin/python3.11 /venv/bin/airflow scheduler", state="Z"),
        retitled("airflow api_server -- host:0.0.0.0 port:8080", state="Z"),
        retitled("airflow worker -- LocalExecutor", state="Z"),
    ],
)
def test_zombies_never_count(proc):
    assert kinds(proc) == set()


def test_airflow_subcommand():
    assert P.airflow_subcommand(spawned("/venv/bin/airflow celery worker -D")) == "celery worker"
    assert P.airflow_subcommand(spawned("/venv/bin/python3 -m airflow scheduler")) == "scheduler"
    assert P.airflow_subcommand(spawned("/venv/bin/airflow -D")) is None
    assert P.airflow_subcommand(retitled("airflow triggerer")) == "triggerer"
    assert P.airflow_subcommand(spawned("/usr/sbin/mariadbd")) is None


def test_is_airflow_process():
    assert P.is_airflow_process(retitled("[celeryd: celery@vm:MainProcess] -active- (celery worker)"))
    assert P.is_airflow_process(retitled("gunicorn: master [airflow-webserver]"))
    assert not P.is_airflow_process(retitled("redis-server 127.0.0.1:6379"))
    assert not P.is_airflow_process(retitled("[celeryd: celery@vm:ForkPoolWorker-3]"))


def test_environment_comes_from_the_webserver_not_a_dag_file_processor():
    """On the practice node the scheduler's environ is blank (setproctitle), while a
    DagFileProcessor child's environ area holds the tail of its long title: readable but
    not the real environment. The webserver's real environment must win."""
    scheduler = spawned("/venv/bin/python3.11 /venv/bin/airflow scheduler", pid=3437)
    scheduler.argv = [scheduler.title]
    manager = retitled("airflow scheduler -- DagFileProcessorManager", pid=3474, ppid=3437)
    child = retitled("airflow scheduler - DagFileProcessor /venv/example_dags/x.py", pid=8943, ppid=3474)
    web = spawned("/venv/bin/python3.11 /venv/bin/airflow webserver --port 8080", pid=3434)
    details = [
        ProcDetail(3437, environ_blank=True),
        ProcDetail(3474, environ_blank=True),
        ProcDetail(8943, environ_blank=False),
        ProcDetail(3434, environ_blank=False, env_names=["AIRFLOW_HOME"], airflow_home="/srv/af"),
    ]
    environments = {3437: {}, 3474: {}, 8943: {}, 3434: {"AIRFLOW_HOME": "/srv/af"}}
    env, pid = observe.choose_environment([scheduler, manager, child, web], environments, details)
    assert pid == 3434
    assert env == {"AIRFLOW_HOME": "/srv/af"}
