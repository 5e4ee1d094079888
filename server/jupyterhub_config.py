"""JupyterHub configuration of the course server (copied to <root>/etc/ by `course-server up`).

The values come from hub_settings.json beside this file, which `up` writes from the roster and
the champion's options; secrets are read from root-only files beside it."""

import json
import pathlib

c = get_config()  # noqa: F821  (JupyterHub provides get_config)

HERE = pathlib.Path(__file__).resolve().parent
S = json.loads((HERE / "hub_settings.json").read_text(encoding="utf-8"))
STATE = pathlib.Path(S["state"])

# ---- listening: loopback HTTP by default, HTTPS with the champion's certificate -----------------
c.JupyterHub.bind_url = S["bind_url"]
if S["ssl_cert"]:
    c.JupyterHub.ssl_cert = S["ssl_cert"]
    c.JupyterHub.ssl_key = S["ssl_key"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = S["hub_port"]

# ---- the proxy: configurable-http-proxy from npm, started and stopped by the hub ------------------
c.ConfigurableHTTPProxy.command = [S["proxy_command"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{S['proxy_api_port']}"
c.ConfigurableHTTPProxy.auth_token = (HERE / "proxy_token").read_text().strip()
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.debug = False

# ---- state and secrets (root only) --------------------------------------------------------------
c.JupyterHub.cookie_secret_file = str(HERE / "cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
# Trainee servers outlive a hub restart (`up` after `add`), so a class is not interrupted.
c.JupyterHub.cleanup_servers = False

# ---- who may log in: Unix passwords (PAM), the roster's ids and the instructor -------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = set(S["trainees"]) | {S["instructor"]}
c.Authenticator.admin_users = {S["instructor"]}
# `remove` deletes the hub user too; only allowed_users and users still in the hub may log in.
c.Authenticator.allow_existing_users = True

# ---- each user's Jupyter: their own Unix account, the course venv, trainee or instructor tools ---
c.JupyterHub.spawner_class = "localprocess"
USER_VENV = pathlib.Path(S["user_venv"])
# umask 077: what a trainee uploads or writes (an EC2 key, notebooks) is theirs alone.
c.Spawner.cmd = [
    "/bin/sh",
    "-c",
    'umask 077; exec "$0" "$@"',
    str(USER_VENV / "bin" / "jupyterhub-singleuser"),
]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    "PATH": f"{USER_VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONWARNINGS": "ignore",
}


def role_config(spawner):  # type: ignore[no-untyped-def]
    """The instructor gets formgrader and create-assignment; trainees get the assignment list."""
    role = "instructor" if spawner.user.name == S["instructor"] else "trainee"
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(pathlib.Path(S["jupyter_config"]) / role)


c.Spawner.pre_spawn_hook = role_config

# ---- services: the idle culler, and the token `course-server` uses for add/remove/status ---------
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [S["hub_python"], "-m", "jupyterhub_idle_culler", f"--timeout={S['idle_timeout']}"],
    },
    {"name": "course-server", "api_token": (HERE / "service_token").read_text().strip()},
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "course-server",
        "scopes": ["admin:users", "admin:servers", "list:users", "read:users", "access:servers"],
        "services": ["course-server"],
    },
]

# ---- the login page says, in Korean, where the password comes from -------------------------------
c.JupyterHub.template_vars = {
    "announcement_login": (
        "Airflow Single Node 과정 서버입니다. 챔피언에게 받은 id와 비밀번호로 로그인하세요. "
        "비밀번호를 잊었으면 챔피언에게 새 비밀번호를 받으세요."
    )
}
