"""From the probe's raw JSON to Facts, without I/O: processes, sockets, and the Airflow
configuration the running processes really use (their AIRFLOW_HOME, cfg file, env overrides).

The secrets the tunnel probes need (passwords from connection strings) come back separately
in `Resolved`; Facts only ever see redacted values.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks import processes as P
from grader import airflow_config as cfg
from grader import limits
from grader.facts import (
    AirflowFacts,
    ConfigProblem,
    Facts,
    HostFacts,
    Option,
    Proc,
    ProcDetail,
    Socket,
)
from grader.redact import (
    command_line_secrets,
    env_secrets,
    redact,
    redact_argv,
    redact_tree,
    redact_url,
    redact_value,
    shell_secrets,
    url_secrets,
)

DIST_VERSION = re.compile(
    r"/apache_airflow(?P<kind>_core|_providers_fab|_providers_celery)?-(?P<version>[0-9][^/]*?)\.dist-info$"
)


@dataclass
class Resolved:
    """Raw effective settings (may contain passwords): only for the tunnel probes, never output."""

    settings: dict[tuple[str, str], cfg.Setting] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # passwords on command lines, in history, in envs

    def value(self, section: str, key: str) -> str | None:
        setting = self.settings.get((section, key))
        return setting.value if setting else None

    def secrets(self) -> set[str]:
        """Every password a consumer reads from the resolved URLs, and those seen on the node."""
        found = set(self.seen)
        for setting in self.settings.values():
            if setting.value and "://" in setting.value:
                found |= url_secrets(setting.value)
        return found


def _hex_ip(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(text, 16)))
    words = struct.unpack("<4I", raw)
    packed = struct.pack(">4I", *words)
    address = socket.inet_ntop(socket.AF_INET6, packed)
    return address.removeprefix("::ffff:") if address.startswith("::ffff:") and "." in address else address


def parse_sockets(rows: list[list[str]]) -> list[Socket]:
    """The node's socket table (/proc/net/tcp{,6} rows: state, local, remote, inode[, uid])."""
    out = []
    for row in rows[: limits.SOCKETS]:
        try:
            state, local, remote, inode = row[:4]
            lip, lport = local.split(":")
            rip, rport = remote.split(":")
            out.append(
                Socket(
                    "listen" if state == "0A" else "established",
                    _hex_ip(lip),
                    int(lport, 16),
                    _hex_ip(rip),
                    int(rport, 16),
                    int(inode),
                    int(row[4]) if len(row) > 4 else None,
                )
            )
        except (ValueError, OSError, TypeError, AttributeError):
            continue
    return out


def parse_os_release(text: str | None) -> dict[str, str]:
    values = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def _text(value: Any, limit: int = limits.TEXT_FIELD_CHARS) -> str:
    """One string field of the probe, capped (a title, a path)."""
    return str(value)[:limit]


ARGV_CHARS = 65_536  # what the probe reads of one /proc/PID/cmdline: cut to TEXT_FIELD_CHARS after masking


def build_processes(raw: dict[str, Any]) -> list[Proc]:
    """The node's processes, at most limits.PROCESSES of them, every field typed and capped."""
    users = {int(uid): _text(entry[0]) for uid, entry in raw.get("passwd", {}).items()}
    procs = []
    for p in raw.get("processes", [])[: limits.PROCESSES]:
        argv = [_text(a, ARGV_CHARS) for a in (p.get("argv") or [])[:64]]
        title = " ".join(argv)[:ARGV_CHARS] if argv else f"[{_text(p.get('comm', ''))}]"
        uid = int(p["uid"]) if p.get("uid") is not None else None
        procs.append(
            Proc(
                pid=int(p["pid"]),
                ppid=int(p["ppid"]),
                uid=uid,
                user=users.get(uid) if uid is not None else None,
                state=_text(p.get("state", "?"))[:4],
                elapsed=float(p.get("elapsed", 0.0)),
                title=title,
                argv=argv,
                exe=_text(p["exe"]) if p.get("exe") else None,
            )
        )
    return procs


def build_details(raw: dict[str, Any]) -> tuple[list[ProcDetail], dict[int, dict[str, str]]]:
    """Per-process details (names only) and, separately, the raw AIRFLOW_* environments."""
    details, environments = [], {}
    for d in raw.get("details", [])[: limits.DETAILS]:
        env = dict(e.split("=", 1) for e in d.get("env", []) if "=" in e)
        airflow_env = {k: v for k, v in env.items() if k.startswith("AIRFLOW")}
        environments[d["pid"]] = airflow_env
        inodes = []
        paths = []
        for target in d.get("fds", []):
            match = re.fullmatch(r"socket:\[(\d+)\]", target)
            if match:
                inodes.append(int(match.group(1)))
            else:
                paths.append(target)
        # A retitled process can leave title text where its environment was: only an
        # environment with HOME or PATH in it is taken as one.
        looks_real = any(e.startswith(("HOME=", "PATH=")) for e in d.get("env", []))
        details.append(
            ProcDetail(
                pid=d["pid"],
                environ_blank=bool(d.get("environ_blank")) or not looks_real,
                env_names=sorted(airflow_env),
                airflow_home=env.get("AIRFLOW_HOME"),
                airflow_config=env.get("AIRFLOW_CONFIG"),
                cwd=d.get("cwd"),
                site_packages=d.get("site_packages"),
                socket_inodes=inodes,
                paths=paths,
            )
        )
    return details, environments


def _nearest_readable(
    pid: int, by_pid: dict[int, Proc], readable: set[int], memo: dict[int, int | None]
) -> int | None:
    """The process itself or its closest ancestor whose environment is readable.

    Memoised over the whole walk, so a chain of thousands of processes costs linear time."""
    chain: list[int] = []
    found: int | None = None
    while pid in by_pid and pid > 1:
        if pid in memo:
            found = memo[pid]
            break
        if pid in readable:
            found = pid
            break
        if len(chain) > len(by_pid):  # a ppid loop: a made-up process table
            break
        memo[pid] = None  # provisional: breaks cycles
        chain.append(pid)
        pid = by_pid[pid].ppid
    for step in chain:
        memo[step] = found
    return found


def _home_of(uid: int | None, raw: dict[str, Any]) -> str | None:
    entry = raw.get("passwd", {}).get(str(uid)) if uid is not None else None
    return entry[1] if entry else None


def choose_environment(
    procs: list[Proc], environments: dict[int, dict[str, str]], details: list[ProcDetail]
) -> tuple[dict[str, str], int | None]:
    """The AIRFLOW_* environment of the running Airflow: the first readable one among the
    Airflow processes (scheduler first) and their ancestors (the shell that started them)."""
    by_pid = {p.pid: p for p in procs}
    readable = {d.pid for d in details if not d.environ_blank}
    order = sorted(
        (p for p in procs if P.is_airflow_process(p)),
        key=lambda p: (not P.is_scheduler(p), not P.is_webserver(p), p.pid),
    )
    memo: dict[int, int | None] = {}
    for proc in order:
        pid = _nearest_readable(proc.pid, by_pid, readable, memo)
        if pid is not None:
            return environments.get(pid, {}), pid
    return {}, None


def build_airflow(
    raw: dict[str, Any],
    procs: list[Proc],
    details: list[ProcDetail],
    env: dict[str, str],
    env_pid: int | None,
) -> tuple[AirflowFacts, Resolved]:
    facts = AirflowFacts()
    airflow_procs = [p for p in procs if P.is_airflow_process(p)]
    # -- version: the install the running processes loaded, else any install found
    sites = {
        d.site_packages for d in details if d.site_packages and any(d.pid == p.pid for p in airflow_procs)
    }
    installs = [_text(i) for i in raw.get("installs", [])[: limits.INSTALLS]]
    facts.installs = installs
    running = [i for i in installs if any(i.startswith(s) for s in sites)]
    for path in running + installs:
        match = DIST_VERSION.search(path)
        if not match:
            continue
        if match.group("kind") in (None, "_core") and facts.version is None:
            facts.version = match.group("version")
        if match.group("kind") == "_providers_fab" and facts.fab_provider is None:
            facts.fab_provider = match.group("version")
    # -- AIRFLOW_HOME: process environment, then the shell profile, then ~/airflow of the owner
    user_home = raw.get("home", "")
    owner_uid = airflow_procs[0].uid if airflow_procs else raw.get("uid")
    owner_home = _home_of(owner_uid, raw) or user_home
    if env_pid is not None and env.get("AIRFLOW_HOME"):
        facts.home, facts.home_source = env["AIRFLOW_HOME"], f"env:{env_pid}"
    else:
        profile = [p for p in raw.get("profile", []) if p[2] == "AIRFLOW_HOME" and p[3]]
        started_by_login_user = not airflow_procs or owner_uid == raw.get("uid")
        if profile and started_by_login_user:
            value = profile[-1][3].replace("${HOME}", user_home).replace("$HOME", user_home)
            if value.startswith("~"):
                value = user_home + value[1:]
            facts.home, facts.home_source = value, f"profile:{profile[-1][0]}:{profile[-1][1]}"
        else:
            facts.home, facts.home_source = f"{owner_home.rstrip('/')}/airflow", f"default:{owner_uid}"
    home = facts.home.rstrip("/") or "/"
    config_path = env.get("AIRFLOW_CONFIG") if env_pid is not None else None
    facts.config_path = config_path or f"{home}/airflow.cfg"
    facts.env_readable = env_pid is not None
    facts.env_overrides = sorted(k for k in env if k.startswith("AIRFLOW__"))
    facts.history = _history_verbs([_text(h) for h in raw.get("history", [])[-limits.HISTORY_LINES :]])
    # -- the cfg file itself
    file_entry = next((f for f in raw.get("files", []) if f.get("path") == facts.config_path), None)
    file_values: dict[str, dict[str, str]] | None = None
    lines: dict[tuple[str, str], int] = {}
    if file_entry is None:
        facts.config_state = "missing"
    else:
        facts.config_state = file_entry.get("state", "error")
        facts.config_mtime = file_entry.get("mtime")
        if facts.config_state == "ok":
            entries = sorted(
                (int(n), _text(line)) for n, line in file_entry.get("lines", [])[: limits.CONFIG_LINES]
            )
            try:
                file_values, lines = cfg.parse_numbered(entries)
            except cfg.ConfigFileError as exc:
                facts.config_state = "parse-error"
                facts.config_problem = ConfigProblem(exc.kind, exc.line, exc.where)
    facts.singular_auth_backend_ignored = cfg.singular_auth_backend_ignored(file_values)
    settings = cfg.resolve(file_values, lines, env, facts.major, home, owner_home)
    facts.options = {
        f"{section}.{key}": Option(
            redact_url(s.value) if s.value is not None else None, s.origin, s.line, s.error
        )
        for (section, key), s in settings.items()
    }
    return facts, Resolved(settings)


def _history_verbs(lines: list[str]) -> list[str]:
    verbs: list[str] = []
    for line in lines:
        for match in re.finditer(r"(?:^|[\s;&|])airflow\s+([a-z_-]+)(?:\s+([a-z_-]+))?", line):
            words = [match.group(1)]
            if match.group(1) in ("db", "users", "celery", "config", "dags") and match.group(2):
                words.append(match.group(2))
            verb = "airflow " + " ".join(words)
            if verb not in verbs:
                verbs.append(verb)
    return verbs


def build_host(raw: dict[str, Any]) -> HostFacts:
    release = parse_os_release(raw.get("os_release"))
    return HostFacts(
        user=raw.get("user", ""),
        uid=raw.get("uid", -1),
        home=raw.get("home", ""),
        hostname=raw.get("hostname", ""),
        kernel=raw.get("kernel", ""),
        os_id=release.get("ID", ""),
        os_version=release.get("VERSION_ID", ""),
        os_name=release.get("PRETTY_NAME", "") or (raw.get("system_release") or "").strip(),
        nproc=raw.get("nproc"),
        memtotal_kb=raw.get("memtotal_kb"),
        python=raw.get("python", ""),
        nested_processes=int(raw.get("nested_processes") or 0),
    )


def observe(raw: dict[str, Any]) -> tuple[Facts, Resolved]:
    """Everything that can be known from the probe output alone."""
    procs = build_processes(raw)
    details, environments = build_details(raw)
    env, env_pid = choose_environment(procs, environments, details)
    airflow, resolved = build_airflow(raw, procs, details, env, env_pid)
    # Passwords seen on the node join the known secrets, masked in every output (runner.clean,
    # Facts.save). The facts themselves are masked by pattern only: a password that equals a word
    # the checks read ("airflow") must not change a verdict.
    # At most limits.SECRETS of them: a node that plants thousands would make every later mask slow.
    found: list[set[str]] = [command_line_secrets(proc.argv) for proc in procs]
    found += [
        shell_secrets(line)
        for line in (raw.get("history") or [])[-limits.HISTORY_LINES :]
        if isinstance(line, str)
    ]
    found += [env_secrets(environment) for environment in environments.values()]
    for secrets in found:
        for secret in sorted(secrets):
            if len(resolved.seen) < limits.SECRETS:
                resolved.seen.add(secret)
    for proc in procs:  # a password typed on a command line stays on the node
        joined = bool(proc.argv) and proc.title == " ".join(proc.argv)
        proc.argv = [a[: limits.TEXT_FIELD_CHARS] for a in redact_argv(proc.argv)]  # masked, then cut
        proc.title = (" ".join(proc.argv) if joined else redact(proc.title))[: limits.TEXT_FIELD_CHARS]
    for (section, key), setting in resolved.settings.items():
        option = airflow.options.get(f"{section}.{key}")
        if option is not None and setting.value is not None:
            option.value = redact_value(setting.value)  # one whole value: a URL may hold spaces
    facts = Facts(
        host=build_host(raw),
        collected_at=datetime.fromtimestamp(raw.get("now") or 0, UTC).isoformat(timespec="seconds"),
        processes=procs,
        sockets=parse_sockets(raw.get("net", [])),
        details=details,
        airflow=airflow,
        problems=list(raw.get("problems", [])),
    )
    facts.host, facts.details, facts.airflow = redact_tree((facts.host, facts.details, facts.airflow))
    facts.problems = redact_tree(facts.problems)
    return facts, resolved
