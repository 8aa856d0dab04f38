"""``python -m course_utils``: run, release, grade and refresh the course."""

from course_utils.instructor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
