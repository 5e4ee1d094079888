"""The champion account (과제 2): exists in the metadata DB Airflow uses, has the role, and logs in."""

from __future__ import annotations

from checks.model import Hint, Outcome, Status
from checks.services import web_server_name
from grader.facts import Facts
from grader.i18n import Text, t
from grader.settings import CourseSettings


def _create_hint(settings: CourseSettings) -> Hint:
    c = settings.champion
    return Hint(
        "champion-missing",
        t(
            "과제 2: `airflow users create -r {role} -u {user} -p '<공지된 비밀번호>' -e <이메일> -f {user} -l <성>`으로 챔피언 계정을 만드세요.",
            "Assignment 2: create the champion with `airflow users create -r {role} -u {user} -p '<published password>' -e <email> -f {user} -l <last>`.",
            role=c.role,
            user=c.username,
        ),
    )


FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def _simple_auth_manager(facts: Facts) -> Outcome | None:
    """Airflow 3 defaults to SimpleAuthManager, where the guide's `airflow users create` does not exist."""
    if facts.airflow.major < 3:
        return None
    if facts.airflow.config_state not in ("ok", "missing"):
        return None  # a cfg Airflow cannot read says nothing about the auth manager: DB and login judge
    option = facts.airflow.option("core.auth_manager")
    value = (option.value if option else None) or ""
    if "FabAuthManager" in value or (option is not None and option.value is None):  # None: a _cmd/_secret
        return None
    where = option.origin if option else "default"
    return Outcome(
        Status.FAIL,
        [
            t(
                "auth_manager = {v} ← {w}: Airflow 3의 기본값(SimpleAuthManager)에는 사용자·역할 테이블도 `airflow users` 명령도 없습니다",
                "auth_manager = {v} ← {w}: Airflow 3's default (SimpleAuthManager) has no user/role tables and no `airflow users` command",
                v=value.rsplit(".", 1)[-1] or "SimpleAuthManager",
                w=where,
            )
        ],
        Hint(
            "champion-simple-auth-manager",
            t(
                "Airflow 3에서 가이드의 챔피언 계정을 만들려면 FAB 인증 관리자로 바꾸세요: `pip install apache-airflow-providers-fab`, airflow.cfg [core]에 `auth_manager = {fab}`, `airflow db migrate`, api-server 재시작 후 `airflow users create ...`",
                "On Airflow 3, switch to the FAB auth manager to create the guide's champion: `pip install apache-airflow-providers-fab`, set [core] `auth_manager = {fab}`, run `airflow db migrate`, restart the api-server, then `airflow users create ...`",
                fab=FAB_AUTH_MANAGER,
            ),
        ),
    )


def champion(facts: Facts, settings: CourseSettings) -> Outcome:
    c = settings.champion
    server = web_server_name(facts)
    simple = _simple_auth_manager(facts)
    if simple is not None:
        return simple
    evidence: list[Text] = []
    row = facts.mysql.champion if facts.mysql else None
    web = facts.web
    db_known = row is not None
    if row is not None:
        if not row.exists:
            evidence.append(
                t(
                    "메타데이터 DB(ab_user)에 {u} 사용자가 없습니다",
                    "No user {u} in the metadata DB (ab_user)",
                    u=c.username,
                )
            )
            return Outcome(Status.FAIL, evidence, _create_hint(settings))
        evidence.append(
            t(
                "메타데이터 DB: {u} 존재, 역할 {roles}, {active}",
                "Metadata DB: {u} exists, roles {roles}, {active_en}",
                u=c.username,
                roles=", ".join(row.roles) or "없음",
                active="활성" if row.active else "비활성",
                active_en="active" if row.active else "inactive",
            )
        )
        if c.role not in row.roles:
            return Outcome(
                Status.FAIL,
                evidence,
                Hint(
                    "champion-role",
                    t(
                        "{u}의 역할이 {role}이 아닙니다: `airflow users add-role -u {u} -r {role}` (필요하면 `airflow users remove-role -u {u} -r <다른 역할>`).",
                        "{u} does not have role {role}: `airflow users add-role -u {u} -r {role}` (and remove-role for others if needed).",
                        u=c.username,
                        role=c.role,
                    ),
                ),
            )
        if row.active is False:
            return Outcome(
                Status.FAIL,
                evidence,
                Hint(
                    "champion-inactive",
                    t(
                        "{u} 계정이 비활성 상태입니다. 웹 UI(Security → List Users)에서 활성화하세요.",
                        "{u} is inactive; activate it in the web UI (Security → List Users).",
                        u=c.username,
                    ),
                ),
            )
        if row.hash_refused:
            evidence.append(
                t(
                    "저장된 비밀번호 해시가 `airflow users create`가 만들지 않는 계산량을 요구해 확인하지 않았습니다: {why}",
                    "The stored password hash asks for more work than `airflow users create` ever writes, so it was not checked: {why}",
                    why=row.hash_refused,
                )
            )
            return Outcome(
                Status.FAIL,
                evidence,
                Hint(
                    "champion-hash-refused",
                    t(
                        "{u}의 비밀번호 해시를 손으로 넣은 것으로 보입니다. `airflow users delete -u {u}` 후 "
                        "`airflow users create`로 다시 만드세요.",
                        "{u}'s password hash looks hand-made: `airflow users delete -u {u}`, then create it "
                        "again with `airflow users create`.",
                        u=c.username,
                    ),
                ),
            )
        if row.password_matches is False:
            evidence.append(
                t(
                    "저장된 비밀번호가 공지된 비밀번호와 다릅니다",
                    "The stored password differs from the published one",
                )
            )
            return Outcome(
                Status.FAIL,
                evidence,
                Hint(
                    "champion-password",
                    t(
                        "{u}의 비밀번호가 다릅니다. 이 Airflow에서는 `airflow users reset-password`가 실패하므로 `airflow users delete -u {u}` 후 다시 만들거나 웹 UI에서 바꾸세요.",
                        "{u}'s password differs. `airflow users reset-password` fails on this Airflow: `airflow users delete -u {u}` and create it again, or change it in the web UI.",
                        u=c.username,
                    ),
                ),
            )
        if row.password_matches:
            evidence.append(
                t(
                    "저장된 비밀번호 해시가 공지된 비밀번호와 일치",
                    "Stored password hash matches the published password",
                )
            )
    # A real login on the running webserver.
    if web and web.login_result == "ok":
        how = {"api-basic": "REST API (basic auth)", "form": "로그인 화면", "jwt": "POST /auth/token"}.get(
            web.login_method or "", "?"
        )
        how_en = {"api-basic": "REST API (basic auth)", "form": "login form", "jwt": "POST /auth/token"}.get(
            web.login_method or "", "?"
        )
        evidence.append(
            t(
                "{server}에 {u}로 로그인 성공 ({how})",
                "Logged in to the {server} as {u} ({how_en})",
                server=server,
                u=c.username,
                how=how,
                how_en=how_en,
            )
        )
        if web.login_roles is not None and c.role not in web.login_roles:
            return Outcome(
                Status.FAIL,
                evidence,
                Hint(
                    "champion-role",
                    t(
                        "{server}가 본 {u}의 역할에 {role}이 없습니다.",
                        "The {server} does not list role {role} for {u}.",
                        server=server,
                        u=c.username,
                        role=c.role,
                    ),
                ),
            )
        if not db_known and web.login_roles is None:
            evidence.append(
                t(
                    "역할은 확인하지 못했습니다 (메타데이터 DB 조회 불가)",
                    "Role not verified (metadata DB not readable)",
                )
            )
            return Outcome(Status.WARN, evidence)
        return Outcome(Status.PASS, evidence)
    if web and web.login_result == "denied":
        evidence.append(
            t(
                "{server} 로그인 거부 (HTTP {s})",
                "The {server} refused the login (HTTP {s})",
                server=server,
                s=web.login_status,
            )
        )
        return Outcome(
            Status.FAIL,
            evidence,
            _create_hint(settings)
            if not db_known
            else Hint(
                "champion-login-denied",
                t(
                    "DB에는 계정이 있지만 {server}가 로그인을 거부합니다. {server}가 같은 메타데이터 DB를 쓰는지 확인하세요.",
                    "The account is in the DB but the {server} refuses the login; check the {server} uses the same metadata DB.",
                    server=server,
                ),
            ),
        )
    if web and web.login_result == "rate_limited":
        evidence.append(
            t(
                "로그인 화면이 잠시 시도를 제한했습니다 (HTTP 429): DB의 비밀번호 해시로 판단합니다",
                "The login form is rate-limited (HTTP 429): judged by the stored hash",
            )
        )
    if db_known and row and row.password_matches:
        return Outcome(Status.PASS, evidence)
    if db_known:
        evidence.append(t("로그인을 확인하지 못했습니다", "Login could not be verified"))
        return Outcome(Status.WARN, evidence)
    evidence.append(
        t(
            "메타데이터 DB도 {server} 로그인도 확인할 수 없습니다",
            "Neither the metadata DB nor a {server} login could be checked",
            server=server,
        )
    )
    return Outcome(
        Status.ERROR,
        evidence,
        Hint(
            "champion-unverifiable",
            t(
                "MySQL 설정(config.metadata_db)과 {server}를 먼저 해결하면 계정을 확인할 수 있습니다.",
                "Fix the MySQL settings (config.metadata_db) and the {server} first; then the account can be checked.",
                server=server,
            ),
        ),
    )
