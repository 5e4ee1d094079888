"""Auto-grader for the Airflow single-node course: SSH into a trainee node, gather facts, judge the 과제."""

__version__ = "0.1.0"

import sys

# paramiko imports `invoke` only to run ssh_config `Match exec` lines; that import alone costs
# ~0.1 s of every `grade` run. Without it such a Match line is ignored (see grader.target).
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]
