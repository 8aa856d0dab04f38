"""The instructor's tools: the course command line (``python -m course_utils``),
the headless runner and parameter sweeps, the student-version generator
(release), the grader and the refresh of stored check outputs.

Students never import this subpackage: ``from course_utils import train,
losses, metrics`` loads none of papermill, nbval, nbclient or pytest, which
only these tools need.
"""
