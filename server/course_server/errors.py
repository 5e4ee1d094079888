"""One error type for everything the champion can fix, said in Korean; and the progress log."""

from __future__ import annotations

import sys


class CourseServerError(Exception):
    """A problem the champion can act on (shown as one Korean message, never a traceback)."""


def log(message: str) -> None:
    print(f"[course-server] {message}", file=sys.stderr, flush=True)
