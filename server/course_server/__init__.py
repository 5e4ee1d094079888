"""The course server: JupyterHub with nbgrader for one class on one machine (see docs/course-server.ko.md)."""
