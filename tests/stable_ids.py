"""The 과제 check ids, written out: reports and scoreboards key on them, so they must not drift."""

STABLE_CHECK_IDS = frozenset(
    {
        "redis.running",
        "mysql.running",
        "airflow.webserver",
        "airflow.scheduler",
        "airflow.dag_processor",
        "airflow.worker",
        "config.executor",
        "config.metadata_db",
        "config.broker",
        "config.result_backend",
        "account.champion",
    }
)
