"""Regenerate notebook 3's data file: the airflow.cfg that Airflow 3.3.2 writes on its first run.

    NODE_AIRFLOW_VERSION=3.3.2 bash practice/node install     # once (root): the pinned venv
    .venv/bin/python scripts/make_default_cfg.py              # rewrite the data file
    .venv/bin/python scripts/make_default_cfg.py --check      # exit 1 when it differs

Airflow writes `$AIRFLOW_HOME/airflow.cfg` the first time a command reads the configuration
(`airflow config list --defaults` does; `airflow version` does not). The script runs that in a
throwaway AIRFLOW_HOME with an empty environment, then makes the file what a trainee finds on the
practice node: the throwaway path becomes /home/ec2-user/airflow, and the three random secrets
Airflow generates (fernet_key, [api] secret_key, [api_auth] jwt_secret) become a fixed placeholder,
so the committed file holds no key and regenerating it gives the same bytes.
Nothing else is changed: notebook 3's exercise applies a trainee's edits to exactly this text.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_VERSION = "3.3.2"
VENV = Path("/home/ec2-user/airflow3-venv")
TARGET = ROOT / "notebooks" / "source" / "03_single_node" / f"airflow-{AIRFLOW_VERSION}-default.cfg"
TRAINEE_HOME = "/home/ec2-user/airflow"
SECRETS = ("fernet_key", "secret_key", "jwt_secret")
PLACEHOLDER = "RANDOM-VALUE-AIRFLOW-GENERATES-ON-FIRST-RUN"


def generate(venv: Path = VENV) -> str:
    airflow = venv / "bin" / "airflow"
    if not airflow.exists():
        sys.exit(
            f"{airflow} is missing: run NODE_AIRFLOW_VERSION={AIRFLOW_VERSION} bash practice/node install"
        )
    with tempfile.TemporaryDirectory(prefix="airflow-default-cfg-") as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "AIRFLOW_HOME": home, "LANG": "C.UTF-8"}
        version = subprocess.run(
            [str(airflow), "version"], env=env, capture_output=True, text=True, check=True, timeout=300
        ).stdout.strip()
        if version != AIRFLOW_VERSION:
            sys.exit(f"{airflow} is Airflow {version}, not {AIRFLOW_VERSION}")
        subprocess.run(
            [str(airflow), "config", "list", "--defaults"],
            env=env,
            capture_output=True,
            check=True,
            timeout=300,
        )
        text = (Path(home) / "airflow.cfg").read_text(encoding="utf-8")
        home_path = os.path.realpath(home)
    return normalise(text, [home_path, home])


def normalise(text: str, homes: list[str]) -> str:
    for home in homes:
        text = text.replace(home, TRAINEE_HOME)
    for key in SECRETS:
        text, count = re.subn(rf"(?m)^{key} = .+$", f"{key} = {PLACEHOLDER}", text)
        if count != 1:
            sys.exit(f"expected one `{key} = ...` line in the generated airflow.cfg, found {count}")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the data file differs")
    parser.add_argument("--venv", type=Path, default=VENV, help=f"the Airflow {AIRFLOW_VERSION} venv")
    args = parser.parse_args()
    text = generate(args.venv)
    if args.check:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print(f"{TARGET.relative_to(ROOT)}: {'up to date' if same else 'STALE'}")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
