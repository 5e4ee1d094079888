"""Class reports written from grading results: JUnit XML and a self-contained HTML page."""
