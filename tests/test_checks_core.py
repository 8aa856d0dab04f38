import random

import numpy as np
import pytest
import torch

from course_utils import checks
from course_utils.checks import _core, _wire
from course_utils.instructor import notebooks as nbtools
from solutions import solution


class LyingFloat(float):
    def __eq__(self, other):
        return True

    def __repr__(self):
        return "whatever you expect"


class LyingTensor(torch.Tensor):
    pass


def test_plain_float_accepts_only_exact_types():
    assert _core.plain_float("x", 2) == 2.0
    assert _core.plain_float("x", np.float32(0.5)) == 0.5
    assert _core.plain_float("x", torch.tensor([1.5])) == 1.5
    for bad in (
        LyingFloat(1.0),
        torch.tensor(1.0).as_subclass(LyingTensor),
        "1.0",
        [1.0],
        None,
    ):
        with pytest.raises(checks.ExerciseFailed):
            _core.plain_float("x", bad)
    with pytest.raises(checks.ExerciseFailed, match="single number"):
        _core.plain_float("x", torch.ones(3))
    with pytest.raises(checks.ExerciseFailed, match="inf"):
        _core.plain_float("x", float("inf"))


def test_plain_tensor_checks_type_and_shape():
    out = _core.plain_tensor("x", torch.ones(2, 3), shape=(2, 3))
    assert out.dtype == torch.float64
    with pytest.raises(checks.ExerciseFailed, match="shape"):
        _core.plain_tensor("x", torch.ones(3, 2), shape=(2, 3))
    with pytest.raises(checks.ExerciseFailed, match="torch.Tensor"):
        _core.plain_tensor("x", np.ones(3))


def test_private_rng_leaves_the_notebook_stream_alone():
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    expected = (torch.rand(1).item(), np.random.rand(), random.random())
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    with _core.private_rng(99):
        torch.rand(100)
        np.random.rand(100)
        random.random()
    assert (torch.rand(1).item(), np.random.rand(), random.random()) == expected


def test_call_student_swallows_output_and_explains_errors(capsys):
    def noisy():
        print("debug!")
        return 3

    assert _core.call_student("9.9", noisy) == 3
    assert capsys.readouterr().out == ""

    def stub():
        raise NotImplementedError("Exercise 9.9")

    with pytest.raises(checks.ExerciseFailed, match="not solved yet"):
        _core.call_student("9.9", stub)
    with pytest.raises(checks.ExerciseFailed, match="raised ZeroDivisionError"):
        _core.call_student("9.9", lambda: 1 / 0)
    with pytest.raises(checks.ExerciseFailed, match="expected a function"):
        _core.call_student("9.9", 42)


def test_a_failed_check_shows_the_hint_not_the_checkers_frames():
    def stub():
        raise NotImplementedError("Exercise 9.9")

    with pytest.raises(checks.ExerciseFailed) as info:
        _core.call_student("9.9", stub)
    lines = info.value._render_traceback_()
    assert len(lines) == 1 and "ExerciseFailed" in lines[0]
    assert "Exercise 9.9 is not solved yet" in lines[0]

    def crashes(x):
        return x[5]  # the student's bug

    with pytest.raises(checks.ExerciseFailed) as info:
        _core.call_student("9.9", crashes, [1, 2])
    text = "\n".join(info.value._render_traceback_())
    assert "return x[5]  # the student's bug" in text  # where the crash was
    assert "IndexError" in text and "call_student" not in text.split("IndexError")[1]
    assert text.rstrip().endswith("your code raised IndexError: list index out of range")


def test_check_prints_exactly_one_line(capsys):
    checks.check("1.3", lambda x, y, h: (x - h * y, y + h * x))
    assert capsys.readouterr().out == (
        "Exercise 1.3 passed: one simultaneous step of the bilinear game is right.\n"
    )
    with pytest.raises(KeyError, match="no checker"):
        checks.check("99.1", None)


def test_registered_ids_are_sorted_numerically():
    ids = checks.registered()
    assert ids == sorted(ids, key=lambda s: tuple(map(int, s.split("."))))
    assert {"1.1", "1.2", "1.3", "1.4"} <= set(ids)


# -- the verdict taken outside the kernel ------------------------------------


WITH_SOLUTIONS = [
    (ex, nbtools.find_notebook(ex.split(".")[0].zfill(2)).stem)
    for ex in checks.registered()
]


def _answer_file(exercise_id, answer, challenge):
    checker = _core.checker_for(exercise_id)
    results = []
    with _core.private_rng(challenge["seed"]):
        for case in challenge["cases"]:
            results.append({"result": _core.evaluate(checker, answer, case)})
    return _wire.loads(_wire.dumps({"results": results}))


@pytest.mark.parametrize("exercise_id, stem", WITH_SOLUTIONS)
def test_fresh_cases_judged_outside_accept_the_solution(exercise_id, stem):
    """Over many seeds: the fresh cases must never be ones the solution fails."""
    answer = solution(stem, exercise_id)
    for seed in range(12):
        challenge = _core.make_challenge(exercise_id, 1_000_003 * seed + 7)
        why = _core.judge(exercise_id, challenge, _answer_file(
            exercise_id, answer, challenge))
        assert why is None, (seed, why)


@pytest.mark.parametrize("exercise_id", checks.registered())
def test_fresh_cases_differ_from_the_notebook_ones(exercise_id):
    a = _wire.dumps(_core.make_challenge(exercise_id, 1)["cases"])
    b = _wire.dumps(_core.make_challenge(exercise_id, 2)["cases"])
    fixed = _wire.dumps(_core.make_challenge(exercise_id, _core._seed_for(
        exercise_id))["cases"])
    assert a != b and a != fixed


def test_results_for_other_cases_do_not_pass():
    """Results computed right, but for the cases the notebook shows."""
    answer = solution("01_minimax_game", "1.2")
    shown = _core.make_challenge("1.2", _core._seed_for("1.2"))
    fresh = _core.make_challenge("1.2", 99)
    why = _core.judge("1.2", fresh, _answer_file("1.2", answer, shown))
    assert why is not None and "the loss is wrong" in why


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"results": "all good"}, "malformed"),
        ({"nothing": 1}, "malformed"),
        ({"results": [1, 2, 3]}, "malformed"),
        ({"results": [{"result": "0.5"}] * 3}, "not a finite number"),
        ({"results": [{"result": float("nan")}] * 3}, "not a finite number"),
        ({"results": [{"result": np.zeros(3)}] * 3}, "not a finite number"),
        ({"results": []}, "every test case"),
        ({"results": [{"error": "Exercise 1.2 is not solved yet"}]}, "not solved"),
    ],
)
def test_judge_refuses_malformed_results(answer, message):
    challenge = _core.make_challenge("1.2", 5)
    why = _core.judge("1.2", challenge, answer)
    assert why is not None and message in why


def test_check_answers_the_grader_challenge(tmp_path, monkeypatch, capsys):
    challenge = _core.make_challenge("1.3", 77)
    _wire.save(tmp_path / "1.3.challenge", challenge)
    monkeypatch.setenv(_core.GRADING_ENV, str(tmp_path))
    right = solution("01_minimax_game", "1.3")
    checks.check("1.3", right)
    assert capsys.readouterr().out.startswith("Exercise 1.3 passed")
    answer = _wire.load(tmp_path / "1.3.answer")
    assert _core.judge("1.3", challenge, answer) is None
    # a wrong answer's results are written too, and judged wrong
    with pytest.raises(checks.ExerciseFailed):
        checks.check("1.3", lambda x, y, h: (x + h * y, y - h * x))
    answer = _wire.load(tmp_path / "1.3.answer")
    assert "simultaneous" in _core.judge("1.3", challenge, answer).lower()


def test_known_mistake_returns_the_first_matching_hint_and_skips_none():
    wrong = [(None, "not this case"), (2.0, "twice"), (2.0 + 1e-12, "later"),
             (-1.0, "sign")]
    assert _core.known_mistake(2.0 + 1e-10, wrong, 1e-9) == "twice"
    assert _core.known_mistake(-1.0, wrong, 1e-9) == "sign"
    assert _core.known_mistake(2.1, wrong, 1e-9) is None
    # the tolerance is relative to max(1, |value|)
    assert _core.known_mistake(1000.0 + 1e-7, [(1000.0, "big")], 1e-9) == "big"
    assert _core.known_mistake(1000.0 + 1e-5, [(1000.0, "big")], 1e-9) is None


# ------------------------------------------------- the course's fallbacks
from course_utils import losses, reference, updates  # noqa: E402

FALLBACKS = [
    ("1.1", "01_minimax_game", reference.mc_value_estimate),
    ("1.3", "01_minimax_game", reference.bilinear_simultaneous_step),
    ("1.4", "01_minimax_game", reference.alternating_conserved_quantity),
    ("1.5", "01_minimax_game", reference.extragradient_contraction),
    ("2.2", "02_optimal_discriminator", reference.optimal_discriminator_with_prior),
    ("2.4", "02_optimal_discriminator", reference.value_from_logits),
    ("3.1", "03_point_cloud_gan", reference.discriminator_step),
    ("3.2", "03_point_cloud_gan", reference.generator_step),
    ("6.1", "06_dcgan", reference.upsampling_block),
    ("6.2", "06_dcgan", reference.dcgan_conv_init),
    ("6.3", "06_dcgan", reference.ema_initial_weight),
    ("6.4", "06_dcgan", reference.spherical_interpolation),
    ("3.3", "03_point_cloud_gan", reference.w1_of_translation),
    ("6.5", "06_dcgan", reference.line_squared_length),
    ("4.1", "04_mode_collapse", reference.gaussian_2d_mass_within),
    ("4.2", "04_mode_collapse", reference.modes_and_hq),
    ("4.3", "04_mode_collapse", updates.pack),
    ("4.4", "04_mode_collapse", reference.append_batch_spread),
    ("4.5", "04_mode_collapse", reference.minibatch_discrimination_features),
    ("4.6", "04_mode_collapse", reference.rejection_accept_probability),
    ("5.1", "05_conditional_and_infogan", reference.concat_one_hot),
    ("5.2", "05_conditional_and_infogan", reference.variational_info_bound),
    ("5.3", "05_conditional_and_infogan", reference.infogan_info_losses),
    ("5.4", "05_conditional_and_infogan", reference.matched_assignment_accuracy),
    ("5.5", "05_conditional_and_infogan", updates.mismatched_labels),
    ("5.6", "05_conditional_and_infogan", reference.class_term_parts),
    ("7.1", "07_lsgan", reference.least_squares_losses),
    ("7.2", "07_lsgan", reference.least_squares_optimal_d),
    ("7.3", "07_lsgan", reference.pearson_chi2_divergence),
    ("7.4", "07_lsgan", reference.least_squares_chi2_link),
    ("8.1", "08_wgan", reference.parallel_lines_distances),
    ("8.2", "08_wgan", reference.wasserstein_losses),
    ("8.3", "08_wgan", reference.interpolate_gradient_penalty),
    ("8.4", "08_wgan", reference.penalised_critic_gap),
    ("8.5", "08_wgan", reference.w1_by_sorting),
]



@pytest.mark.parametrize("exercise_id, stem, fallback", FALLBACKS)
def test_each_fallback_passes_its_exercise_and_is_refused_in_answers(
    exercise_id, stem, fallback, capsys
):
    checks.check(exercise_id, fallback)
    assert capsys.readouterr().out.startswith(f"Exercise {exercise_id} passed")
    assert fallback.__name__ in _core.checker_for(exercise_id).gives_away


@pytest.mark.parametrize("exercise_id, stem, fallback", FALLBACKS)
def test_student_or_uses_a_passing_answer_and_says_so(
    exercise_id, stem, fallback, capsys
):
    answer = solution(stem, exercise_id)
    state = torch.random.get_rng_state()
    assert _core.student_or(exercise_id, answer, fallback) is answer
    assert torch.equal(torch.random.get_rng_state(), state)  # the notebook's stream
    assert capsys.readouterr().out == f"Using your answer to Exercise {exercise_id}.\n"
    assert _core.student_or(exercise_id, answer, fallback, quiet=True) is answer
    assert capsys.readouterr().out == ""


def test_student_or_falls_back_on_stubs_and_wrong_answers(capsys):
    def stub(x, y, h):
        raise NotImplementedError("Exercise 1.4")

    def radius(x, y, h):  # the squared radius, which alternating steps do not keep
        return x * x + y * y

    for wrong in (stub, radius, 42):
        got = _core.student_or("1.4", wrong, reference.alternating_conserved_quantity)
        assert got is reference.alternating_conserved_quantity
        out = capsys.readouterr().out
        assert "Exercise 1.4 does not pass its check yet" in out
        assert "reference.alternating_conserved_quantity" in out
    with pytest.raises(KeyError):
        _core.student_or("9.9", stub, stub)


@pytest.fixture
def fresh_kernel():
    """No check has refused anything yet, as in a fresh kernel."""
    _core._REFUSALS.clear()
    yield
    _core._REFUSALS.clear()


def test_a_worked_step_comes_only_with_the_second_refusal(fresh_kernel):
    def strided(x, m):  # packs samples i, i + n/m, ...: refused with a worked step
        n, d = x.shape
        return x.reshape(m, n // m, d).transpose(0, 1).reshape(n // m, m * d)

    with pytest.raises(checks.ExerciseFailed) as first:
        checks.check("4.3", strided)
    assert "pack consecutive samples" in str(first.value)
    assert "reshape(n // m" not in str(first.value) and "Try again" in str(first.value)
    with pytest.raises(checks.ExerciseFailed) as second:
        checks.check("4.3", strided)
    assert "Worked step: x.reshape(n // m, m * d) does it" in str(second.value)
    # another exercise keeps its own count
    with pytest.raises(checks.ExerciseFailed) as other:
        checks.check("6.5", lambda d, t: float(d))
    assert "end points only" in str(other.value)
    assert "Add the variances" not in str(other.value)


def test_a_hint_without_a_worked_step_is_shown_whole_at_once(fresh_kernel):
    with pytest.raises(checks.ExerciseFailed) as info:
        checks.check("6.5", lambda d, t: (1 - t) ** 2 + t ** 2)
    assert "d coordinates" in str(info.value) and "Try again" not in str(info.value)


def test_the_worked_step_is_kept_apart_from_the_message():
    from course_utils.checks._core import STEP

    exc = checks.ExerciseFailed(f"Exercise 9.9: the sign is wrong.{STEP}Negate it.")
    assert str(exc) == "Exercise 9.9: the sign is wrong." and exc.worked == "Negate it."
    assert checks.ExerciseFailed("plain").worked is None
