"""Auto-grader for the Airflow single-node course: SSH into a trainee node, gather facts, judge the 과제."""

__version__ = "0.1.0"
