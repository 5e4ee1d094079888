# Read-only probe of a trainee node. Sent over SSH to the node's python3 (3.6+ compatible:
# Amazon Linux 2 has 3.7) and run with `python3 -I -S -`; prints one JSON document of raw facts.
# It writes nothing, starts no process, needs no sudo. Blocking reads are bounded by SIGALRM.
import glob
import json
import os
import re
import signal
import stat
import sys
import time

MAX_FILE = 1 << 20
WATCH = re.compile(r"airflow|celery|gunicorn")
AIRFLOW_TITLE = re.compile(
    r"bin/airflow\s|^airflow\s|airflow-webserver|\[celeryd:|airflow (scheduler|webserver|api.server|dag.processor)"
)
SERVICE = re.compile(r"redis|valkey|mysqld|mariadbd|airflow|celery|gunicorn|python")
SKIP = re.compile(r"ForkPoolWorker|gunicorn: worker|\[ready\]")
ENV_KEEP = re.compile(r"^(AIRFLOW_|AIRFLOW__|HOME=|PATH=|VIRTUAL_ENV=)")
DIST = re.compile(r"/(apache_airflow(_core|_providers_fab|_providers_celery)?)-[0-9][^/]*\.dist-info$")
PROFILE_SET = re.compile(r"^\s*(export\s+)?(AIRFLOW_HOME|AIRFLOW_CONFIG)=[\"']?([^\"'#\s]*)")
problems = []
# Replaced by the grader with a fresh random value for each run and echoed in the output: a node
# that answers with a recorded or made-up result cannot know it.
NONCE = "@GRADER_NONCE@"


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


signal.signal(signal.SIGALRM, _alarm)


def read_bytes(path, limit=MAX_FILE, seconds=2.0):
    """(data, state): state is ok | missing | unreadable | not-regular | timeout | error."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "missing"
    except PermissionError:
        return None, "unreadable"
    except OSError:
        return None, "error"
    if not stat.S_ISREG(st.st_mode):
        return None, "not-regular"
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            chunks, size = [], 0
            while size < limit:
                chunk = os.read(fd, min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks), "ok"
        finally:
            os.close(fd)
    except Timeout:
        return None, "timeout"
    except PermissionError:
        return None, "unreadable"
    except OSError:
        return None, "error"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def read_text(path, limit=MAX_FILE):
    data, state = read_bytes(path, limit)
    return (data.decode("utf-8", "replace") if data is not None else None), state


def uid_of(pid):
    try:
        return os.stat("/proc/%s" % pid).st_uid
    except OSError:
        return None


def pid_ns_depth(pid):
    """How many PID namespaces deep a process is (the NSpid line of its status; Linux >= 4.1)."""
    text = read_text("/proc/%s/status" % pid, 16384)[0] or ""
    for line in text.splitlines():
        if line.startswith("NSpid:"):
            return len(line.split()) - 1
    return 1


def processes():
    """The node's own processes. Those in nested PID namespaces (containers) are counted, not listed."""
    clock = os.sysconf("SC_CLK_TCK")
    uptime = float((read_text("/proc/uptime")[0] or "0 0").split()[0])
    own_depth = pid_ns_depth("self")
    out = []
    nested = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat_text = read_text("/proc/%s/stat" % name, 4096)[0]
        if not stat_text:
            continue
        if pid_ns_depth(name) > own_depth:
            nested += 1
            continue
        rest = stat_text[stat_text.rfind(")") + 2 :].split()
        cmd, _ = read_bytes("/proc/%s/cmdline" % name, 65536)
        argv = [a.decode("utf-8", "replace") for a in (cmd or b"").split(b"\0") if a]
        comm = stat_text[stat_text.find("(") + 1 : stat_text.rfind(")")]
        start = int(rest[19]) / clock if len(rest) > 19 else 0.0
        entry = {
            "pid": int(name),
            "ppid": int(rest[1]),
            "uid": uid_of(name),
            "state": rest[0],
            "elapsed": round(max(0.0, uptime - start), 1),
            "argv": argv,
            "comm": comm,
        }
        if SERVICE.search(comm) or (argv and SERVICE.search(argv[0])):
            try:  # the program really running, whatever its title says (readable for own processes)
                entry["exe"] = os.readlink("/proc/%s/exe" % name)
            except OSError:
                pass
        out.append(entry)
    return out, nested


SITE_BY_EXE = {}


def details(pid):
    """Environment (AIRFLOW_* only), cwd, exe, site-packages and open files of one process."""
    base = "/proc/%s" % pid
    env_raw, _ = read_bytes(base + "/environ", 262144)
    env = [e.decode("utf-8", "replace") for e in (env_raw or b"").split(b"\0") if e]
    exe = None
    try:
        exe = os.readlink(base + "/exe")
    except OSError:
        pass
    # The kernel writes /proc/PID/maps out anew for each read: once per interpreter is enough
    # (the gunicorn and celery children of one venv load the same site-packages).
    if exe is None or exe not in SITE_BY_EXE:
        maps, _ = read_text(base + "/maps", 4 << 20)
        found = re.search(r"(/\S*/site-packages/)", maps or "")
        if exe is not None and found:
            SITE_BY_EXE[exe] = found
    else:
        found = SITE_BY_EXE[exe]
    site = found
    fds = []
    try:
        for fd in os.listdir(base + "/fd")[:400]:
            try:
                target = os.readlink("%s/fd/%s" % (base, fd))
            except OSError:
                continue
            if target.startswith("socket:") or "airflow" in target or target.endswith((".db", ".cfg")):
                fds.append(target)
    except OSError:
        pass

    def link(name):
        try:
            return os.readlink(base + "/" + name)
        except OSError:
            return None

    return {
        "pid": pid,
        "environ_bytes": len(env_raw or b""),
        "environ_blank": bool(env_raw) and not env_raw.strip(b"\0"),
        "env": [e for e in env if ENV_KEEP.match(e)],
        "cwd": link("cwd"),
        "exe": link("exe"),
        "site_packages": site.group(1) if site else None,
        "fds": sorted(set(fds)),
    }


def net():
    rows = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        text, _ = read_text(path, 8 << 20)
        for line in (text or "").splitlines()[1:]:
            parts = line.split()
            if len(parts) > 9 and parts[3] in ("0A", "01"):
                rows.append([parts[3], parts[1], parts[2], parts[9], parts[7]])
    return rows[:20000]


def main():
    home = os.path.expanduser("~")
    me = os.getuid()
    procs, nested = processes()
    by_pid = dict((p["pid"], p) for p in procs)
    keep = set()
    for p in procs:
        title = " ".join(p["argv"]) or p["comm"]
        if p["uid"] != me or SKIP.search(title) or not WATCH.search(title):
            continue
        q, depth = p["pid"], 0
        while q in by_pid and q > 1 and by_pid[q]["uid"] == me and depth < 12:
            keep.add(q)
            q, depth = by_pid[q]["ppid"], depth + 1
    detail = [details(pid) for pid in sorted(keep)[:60]]

    passwd = {}
    text, _ = read_text("/etc/passwd")
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 6 and parts[2].isdigit():
            passwd[int(parts[2])] = [parts[0], parts[5]]

    installs = set()
    patterns = [
        home + "/.local/lib/python3*/site-packages/apache_airflow*.dist-info",
        "/usr/local/lib*/python3*/site-packages/apache_airflow*.dist-info",
        "/usr/lib*/python3*/site-packages/apache_airflow*.dist-info",
        home + "/*/lib/python3*/site-packages/apache_airflow*.dist-info",
        home + "/.*/lib/python3*/site-packages/apache_airflow*.dist-info",
    ]
    patterns += [d["site_packages"] + "apache_airflow*.dist-info" for d in detail if d["site_packages"]]
    for pattern in patterns:
        for path in glob.glob(pattern):
            if DIST.search(path):
                installs.add(path)
    binaries = [
        p
        for p in [home + "/.local/bin/airflow", "/usr/local/bin/airflow", "/usr/bin/airflow"]
        + glob.glob(home + "/*/bin/airflow")
        if os.path.isfile(p)
    ]

    profile = []
    for path in [home + "/.bashrc", home + "/.bash_profile", home + "/.profile", "/etc/environment"] + sorted(
        glob.glob("/etc/profile.d/*.sh")
    ):
        text, _ = read_text(path, 262144)
        for number, line in enumerate((text or "").splitlines(), 1):
            match = PROFILE_SET.match(line)
            if match:
                profile.append([path, number, match.group(2), match.group(3)])

    history = []
    text, _ = read_text(home + "/.bash_history", 4 << 20)
    for line in (text or "").splitlines():
        if re.search(r"(^|[\s;&|])airflow\s", line):
            history.append(line[:300])
    history = history[-200:]

    candidates = []
    for d in detail:
        env = dict(e.split("=", 1) for e in d["env"] if "=" in e)
        if env.get("AIRFLOW_CONFIG"):
            candidates.append(env["AIRFLOW_CONFIG"])
        if env.get("AIRFLOW_HOME"):
            candidates.append(env["AIRFLOW_HOME"].rstrip("/") + "/airflow.cfg")
    for _, _, name, value in profile:
        value = value.replace("${HOME}", home).replace("$HOME", home)
        if value.startswith("~"):
            value = home + value[1:]
        if value:
            candidates.append(value if name == "AIRFLOW_CONFIG" else value.rstrip("/") + "/airflow.cfg")
    candidates.append(home + "/airflow/airflow.cfg")
    owners = set(p["uid"] for p in procs if AIRFLOW_TITLE.search(" ".join(p["argv"]) or p["comm"]))
    for uid in sorted(o for o in owners if o is not None):
        if uid in passwd:
            candidates.append(passwd[uid][1].rstrip("/") + "/airflow/airflow.cfg")
    files = []
    seen = set()
    for path in candidates:
        if path in seen or not path.startswith("/") or len(files) >= 20:
            continue
        seen.add(path)
        data, state = read_bytes(path)
        entry = {"path": path, "state": state}
        if data is not None:
            st = os.stat(path)
            entry["size"] = st.st_size
            entry["mtime"] = st.st_mtime
            # The lines Airflow's ConfigParser reads: lines end at \n, \r\n or \r (open()'s universal
            # newlines, not str.splitlines); comment lines are skipped; a blank line counts only inside
            # a multi-line value (before an indented line); a byte that is not UTF-8 is kept, as a
            # surrogate escape, wherever it is: Airflow cannot read that file at all.
            text = data.decode("utf-8", "surrogateescape")
            if len(data) >= MAX_FILE:  # a character cut by the size limit is not an error
                text = re.sub("[\udc80-\udcff]{1,3}$", "", text)
            kept, blanks = [], []
            for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
                live = line.strip()
                if re.search("[\udc80-\udcff]", line):
                    kept.append([n, line])
                elif not live:
                    blanks.append([n, line])
                elif live[0] not in "#;":
                    if line[:1].isspace():
                        kept.extend(blanks)
                    blanks = []
                    kept.append([n, line])
            entry["lines"] = sorted(kept)
            entry["truncated"] = len(data) >= MAX_FILE
        files.append(entry)

    os_release, _ = read_text("/etc/os-release", 65536)
    system_release, _ = read_text("/etc/system-release", 4096)
    meminfo, _ = read_text("/proc/meminfo", 65536)
    mem = re.search(r"^MemTotal:\s+(\d+)", meminfo or "", re.M)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    uname = os.uname()
    return {
        "probe_version": 2,
        "nonce": NONCE,
        "now": time.time(),
        "user": passwd.get(me, ["?"])[0],
        "uid": me,
        "home": home,
        "hostname": uname.nodename,
        "kernel": uname.release,
        "machine": uname.machine,
        "python": sys.version.split()[0],
        "nproc": cpus,
        "memtotal_kb": int(mem.group(1)) if mem else None,
        "os_release": os_release,
        "system_release": system_release,
        "processes": procs,
        "nested_processes": nested,
        "details": detail,
        "passwd": dict((str(k), v) for k, v in passwd.items() if k == me or k in owners or k < 1000),
        "net": net(),
        "installs": sorted(installs),
        "binaries": binaries,
        "profile": profile,
        "history": history,
        "files": files,
        "problems": problems,
    }


sys.stdout.write(json.dumps(main()))  # dumps: the C encoder (dump is pure Python)
