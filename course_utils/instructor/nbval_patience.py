"""A pytest plugin for the grader's nbval runs (introduced in 01_minimax_game).

nbval waits at most 5 seconds for a cell's output messages once the cell has
finished, and reports a timeout otherwise. On a laptop grading a class in
parallel that wait can be longer; a cell that finished is not a cell that
timed out, so the grader gives nbval's output wait a generous limit.
"""

OUTPUT_WAIT_SECONDS = 60


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_WAIT_SECONDS
