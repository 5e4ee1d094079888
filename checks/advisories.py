"""Advisories: reported to trainee and champion, never scored."""

from __future__ import annotations

from datetime import date

from checks import processes as P
from grader.facts import Facts
from grader.i18n import Text, t
from grader.settings import CourseSettings

# (os-release ID, VERSION_ID prefix) -> end of standard support
OS_END_OF_LIFE = {
    ("amzn", "2"): date(2026, 6, 30),
    ("centos", "7"): date(2024, 6, 30),
    ("ubuntu", "18.04"): date(2023, 5, 31),
    ("ubuntu", "20.04"): date(2025, 5, 31),
    ("debian", "10"): date(2024, 6, 30),
    ("debian", "11"): date(2026, 8, 31),
}


def _today(facts: Facts) -> date:
    try:
        return date.fromisoformat(facts.collected_at[:10])
    except ValueError:
        return date.today()


def redis_open(facts: Facts, settings: CourseSettings) -> Text | None:
    redis = facts.redis
    if not redis or not redis.reachable or redis.auth_used:
        return None
    open_to_all = [s for s in facts.listening(redis.port) if s.local_ip in ("0.0.0.0", "::")]
    if not open_to_all:
        return None
    return t(
        "Redis가 모든 주소({ip}:{port})에서 비밀번호 없이 열려 있습니다 (가이드의 `bind 0.0.0.0`). 보안 그룹에서 {port} 포트를 막거나 `requirepass`를 설정하세요.",
        "Redis listens on all addresses ({ip}:{port}) without a password (the guide's `bind 0.0.0.0`). Block port {port} in the security group or set `requirepass`.",
        ip=open_to_all[0].local_ip,
        port=redis.port,
    )


def mariadb(facts: Facts, settings: CourseSettings) -> Text | None:
    if facts.mysql and facts.mysql.is_mariadb:
        return t(
            "메타데이터 DB가 MariaDB({v})입니다. Airflow는 MariaDB를 지원하지 않습니다 (마이그레이션·잠금 문제). MySQL 8.4 LTS를 쓰세요.",
            "The metadata DB is MariaDB ({v}); Airflow does not support MariaDB (migration and locking issues). Use MySQL 8.4 LTS.",
            v=facts.mysql.server_version,
        )
    return None


def eol_os(facts: Facts, settings: CourseSettings) -> Text | None:
    host = facts.host
    for (os_id, version), end in OS_END_OF_LIFE.items():
        same = host.os_id == os_id and (
            host.os_version == version or host.os_version.startswith(version + ".")
        )
        if same and _today(facts) > end:
            return t(
                "{name}은(는) {end}에 지원이 끝났습니다. 새 노드는 Amazon Linux 2023으로 만드세요.",
                "{name} reached end of support on {end}; build new nodes on Amazon Linux 2023.",
                name=host.os_name or f"{os_id} {version}",
                end=end.isoformat(),
            )
    return None


MYSQL_80_END_OF_LIFE = date(2026, 4, 30)  # Oracle: MySQL 8.0 end of life, April 2026 (8.0.46 the last)
AIRFLOW_2_END_OF_LIFE = date(2026, 4, 22)  # Airflow's supported-versions page


def eol_mysql(facts: Facts, settings: CourseSettings) -> Text | None:
    mysql = facts.mysql
    if not (mysql and mysql.server_version) or mysql.is_mariadb:
        return None
    if mysql.server_version.startswith(("5.7", "5.6", "5.5")):
        return t(
            "MySQL {v}은(는) 지원이 끝났고(5.7: 2023-10) Airflow 2.8부터 지원하지 않습니다. MySQL 8.4 LTS를 쓰세요.",
            "MySQL {v} is end of life (5.7: 2023-10) and unsupported since Airflow 2.8; use MySQL 8.4 LTS.",
            v=mysql.server_version,
        )
    if mysql.server_version.startswith("8.0.") and _today(facts) > MYSQL_80_END_OF_LIFE:
        return t(
            "MySQL {v}: 8.0은 2026-04에 지원이 끝났습니다. 새로 설치한다면 MySQL 8.4 LTS(2032년까지 지원)를 쓰세요.",
            "MySQL {v}: 8.0 reached end of life in 2026-04; new installs should use MySQL 8.4 LTS (supported to 2032).",
            v=mysql.server_version,
        )
    return None


def eol_airflow(facts: Facts, settings: CourseSettings) -> Text | None:
    version = facts.airflow.version
    if version and facts.airflow.major < 3:
        if _today(facts) > AIRFLOW_2_END_OF_LIFE:
            return t(
                "Airflow {v}: 2.x는 2026-04-22에 지원이 완전히 끝났습니다(보안 수정도 없음). 새로 설치한다면 Airflow 3을 쓰세요.",
                "Airflow {v}: 2.x reached end of life on 2026-04-22 (no security fixes); new installs should use Airflow 3.",
                v=version,
            )
        return t(
            "Airflow {v}: 2.x는 2025-10에 활성 지원이 끝났고 2026-04-22에 지원이 완전히 끝납니다. 새로 설치한다면 Airflow 3을 쓰세요.",
            "Airflow {v}: 2.x left active support in 2025-10 and reaches end of life on 2026-04-22; new installs should use Airflow 3.",
            v=version,
        )
    return None


def small_instance(facts: Facts, settings: CourseSettings) -> Text | None:
    host = facts.host
    memory_gib = (host.memtotal_kb or 0) / 1024 / 1024
    if host.nproc is None or host.memtotal_kb is None:
        return None
    if host.nproc < settings.min_vcpus or memory_gib < settings.min_memory_gib:
        return t(
            "노드가 가이드의 t2.large(2 vCPU, 8 GiB)보다 작습니다: vCPU {cpu}, 메모리 {mem:.1f} GiB. Airflow 서비스가 메모리 부족으로 죽을 수 있습니다.",
            "The node is smaller than the guide's t2.large (2 vCPU, 8 GiB): {cpu} vCPU, {mem:.1f} GiB; Airflow may run out of memory.",
            cpu=host.nproc,
            mem=memory_gib,
        )
    return None


def catchup(facts: Facts, settings: CourseSettings) -> Text | None:
    option = facts.airflow.option("scheduler.catchup_by_default")
    if option and (option.value or "").strip().lower() not in ("false", "0", "f", "no", "off"):
        return t(
            "catchup_by_default = {v}: DAG를 켜면 지난 날짜의 실행이 한꺼번에 만들어집니다. 가이드처럼 False로 두세요.",
            "catchup_by_default = {v}: enabling a DAG creates every past run at once; set it to False as the guide does.",
            v=option.value,
        )
    return None


def api_auth(facts: Facts, settings: CourseSettings) -> Text | None:
    if facts.airflow.major >= 3:
        return None
    option = facts.airflow.option("api.auth_backends")
    value = (option.value or "") if option else ""
    if "basic_auth" in value:
        return None
    if facts.airflow.singular_auth_backend_ignored:
        return t(
            "가이드의 `auth_backend = ...basic_auth`(단수형)는 `auth_backends`가 이미 있어 무시됩니다: REST API basic auth가 꺼져 있습니다. [api]의 `auth_backends = airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session`으로 고치세요.",
            "The guide's `auth_backend = ...basic_auth` (singular) is ignored because `auth_backends` is set: REST API basic auth is off. Set `auth_backends = airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session` in [api].",
        )
    return t(
        "REST API basic auth가 꺼져 있습니다 (auth_backends = {v}). 가이드의 '비밀번호 사용'을 하려면 [api] auth_backends에 airflow.api.auth.backend.basic_auth를 넣으세요.",
        "REST API basic auth is off (auth_backends = {v}); add airflow.api.auth.backend.basic_auth to [api] auth_backends as the guide intends.",
        v=value or "-",
    )


def env_hidden(facts: Facts, settings: CourseSettings) -> Text | None:
    if not facts.airflow.env_readable and P.find(facts, P.is_airflow_process):
        return t(
            "실행 중인 Airflow 프로세스의 환경 변수를 읽을 수 없어 AIRFLOW__* 재정의는 확인하지 못했습니다 ({src}의 설정으로 판단).",
            "The running Airflow processes' environment is unreadable, so AIRFLOW__* overrides are unverified (judged from {src}).",
            src=facts.airflow.config_path,
        )
    return None
