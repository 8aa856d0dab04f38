"""Every checker accepts the course's answer on any challenge the grader can draw.

The grader draws a fresh 62-bit seed per exercise (``secrets.randbits(62)``),
makes the cases from it, lets the answer run them and judges the results in its
own process. Hypothesis draws the seeds here, including the ends of the range.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from course_utils import checks
from course_utils.checks import _core, _wire
from course_utils.instructor import notebooks as nbtools
from solutions import solution

EXERCISES = [
    (ex, nbtools.find_notebook(ex.split(".")[0].zfill(2)).stem)
    for ex in checks.registered()
]


def graded(exercise_id, answer, seed):
    """The grader's verdict on ``answer`` for the challenge drawn from ``seed``:
    None when it is accepted, else why not."""
    challenge = _core.make_challenge(exercise_id, seed)
    checker = _core.checker_for(exercise_id)
    results = []
    with _core.private_rng(challenge["seed"]):
        for case in challenge["cases"]:
            results.append({"result": _core.to_plain(checker.run(answer, case))})
    sent_back = _wire.loads(_wire.dumps({"results": results}))
    return _core.judge(exercise_id, challenge, sent_back)


@pytest.mark.parametrize("exercise_id, stem", EXERCISES)
def test_any_grader_seed_accepts_the_course_answer(exercise_id, stem):
    answer = solution(stem, exercise_id)

    # 6 fresh seeds per checker in the everyday profile; more when exploring
    @settings(max_examples=max(6, settings.default.max_examples // 16))
    @given(st.integers(0, 2**62 - 1))
    @example(0)
    @example(2**31 - 1)
    @example(2**31)
    @example(2**62 - 1)
    def accepted(seed):
        why = graded(exercise_id, answer, seed)
        assert why is None, why

    accepted()
