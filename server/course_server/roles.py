"""Jupyter config per role, chosen by the hub at spawn time (JUPYTER_CONFIG_PATH): trainees get the
assignment list and validate, the instructor also formgrader and the create-assignment toolbar.
The directories are root-owned and read-only to users; the protection itself is Unix permissions
(a trainee who turned formgrader on would find no course or gradebook to read)."""

from __future__ import annotations

import json
from pathlib import Path

from course_server.layout import COURSE_ID, Layout, write_if_changed

INSTRUCTOR_ONLY_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
INSTRUCTOR_ONLY_SERVER = ("nbgrader.server_extensions.formgrader",)


def course_dir(instructor_home: Path) -> Path:
    return instructor_home / "course"


def nbgrader_config(layout: Layout, *, course_root: Path | None) -> str:
    lines = [
        '"""nbgrader for the course server (written by course-server up)."""',
        "",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = {str(layout.exchange)!r}",
        "c.ExchangeSubmit.add_random_string = True  # submissions are not guessable by name",
    ]
    if course_root is not None:
        lines.append(f"c.CourseDirectory.root = {str(course_root)!r}")
    return "\n".join(lines) + "\n"


def ensure_role_configs(layout: Layout, instructor_home: Path) -> bool:
    trainee = layout.jupyter / "trainee"
    instructor = layout.jupyter / "instructor"
    page = {
        "disabledExtensions": dict.fromkeys(INSTRUCTOR_ONLY_LAB, True),
        "lockedExtensions": dict.fromkeys(INSTRUCTOR_ONLY_LAB, True),
    }
    server = {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_ONLY_SERVER, False)}}
    changed = [
        write_if_changed(trainee / "labconfig" / "page_config.json", json.dumps(page, indent=2) + "\n"),
        write_if_changed(trainee / "jupyter_server_config.json", json.dumps(server, indent=2) + "\n"),
        write_if_changed(trainee / "nbgrader_config.py", nbgrader_config(layout, course_root=None)),
        write_if_changed(
            instructor / "nbgrader_config.py",
            nbgrader_config(layout, course_root=course_dir(instructor_home)),
        ),
    ]
    for folder in (layout.jupyter, trainee, trainee / "labconfig", instructor):
        folder.chmod(0o755)
    return any(changed)
