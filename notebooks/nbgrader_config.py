"""nbgrader course settings for the Airflow single-node course (run nbgrader from this folder)."""

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = "airflow-single-node"
# The four notebooks follow the course guide's sections, in order.
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# Student versions: solutions become "# 여기에 답을 쓰세요" and a raise, hidden tests are removed.
c.ClearSolutions.code_stub = {"python": "# 여기에 답을 쓰세요\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "여기에 답을 쓰세요"
# The check cells reach the trainee's EC2 node over SSH: give them time.
c.ExecutePreprocessor.timeout = 300
