"""`python -m course_server` (what `server/course-server` runs)."""

import sys

from course_server.cli import main

sys.exit(main())
