"""minigrad.optim: every update rule against its equation written out in NumPy, the lectures'
worked numbers, schedules against their formulas, line search, state dicts and bad input."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler

STEPS = 20
START = np.array([0.5, -1.0, 2.0])


def gradient_at(t: int) -> np.ndarray:
    """A fixed gradient sequence that changes sign and size from step to step (float64)."""
    return np.linspace(-1.0, 2.0, 3) * math.cos(0.7 * t) + 0.3 * t / STEPS


def run(optimizer_class, steps=STEPS, dtype=np.float64, **options) -> np.ndarray:
    """The path of x under `optimizer_class` fed gradient_at(0), gradient_at(1), ..."""
    x = mg.Tensor(START.astype(dtype), requires_grad=True)
    optimizer = optimizer_class([x], **options)
    path = []
    for t in range(steps):
        x.grad = gradient_at(t).astype(dtype)
        optimizer.step()
        path.append(x.data.copy())
    return np.array(path)


def same_path(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


# ---- each rule against its equation --------------------------------------------------------------


def reference_sgd(
    lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False
):
    x, buffer, path = START.copy(), None, []
    for t in range(STEPS):
        g = (-gradient_at(t) if maximize else gradient_at(t)) + weight_decay * x
        if momentum:
            buffer = g.copy() if buffer is None else momentum * buffer + (1 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        x = x - lr * g
        path.append(x)
    return np.array(path)


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.8, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.1),
    dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.2),
    dict(lr=0.1, maximize=True),
]


@pytest.mark.parametrize("options", SGD_CASES, ids=str)
def test_sgd_follows_its_equation(options):
    same_path(run(optim.SGD, **options), reference_sgd(**options))


def reference_adam(
    lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False
):
    b1, b2 = betas
    x, m, v, v_max, path = START.copy(), 0.0, 0.0, 0.0, []
    for t in range(1, STEPS + 1):
        g = gradient_at(t - 1)
        if decoupled:
            x = x - lr * weight_decay * x
        else:
            g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - b1**t)
        v_hat = (v_max if amsgrad else v) / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1),
        dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1),
        dict(lr=0.1, amsgrad=True),
        dict(lr=0.1, eps=0.3),  # a large eps shows it sits outside the root
    ],
    ids=str,
)
def test_adam_follows_its_equation(options):
    same_path(run(optim.Adam, **options), reference_adam(**options))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_decays_the_weights_before_the_adam_step(amsgrad):
    path = run(optim.AdamW, lr=0.1, weight_decay=0.2, amsgrad=amsgrad)
    same_path(path, reference_adam(0.1, weight_decay=0.2, amsgrad=amsgrad, decoupled=True))
    assert np.abs(path - run(optim.Adam, lr=0.1, weight_decay=0.2, amsgrad=amsgrad)).max() > 1e-3


def test_adamw_default_weight_decay_is_one_hundredth():
    same_path(run(optim.AdamW, lr=0.1), reference_adam(0.1, weight_decay=1e-2, decoupled=True))


def reference_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    x, square, mean, buffer, path = START.copy(), 0.0, 0.0, 0.0, []
    for t in range(STEPS):
        g = gradient_at(t) + weight_decay * x
        square = alpha * square + (1 - alpha) * g**2
        mean = alpha * mean + (1 - alpha) * g
        d = np.sqrt(square - mean**2 if centered else square) + eps
        if momentum:
            buffer = momentum * buffer + g / d
            x = x - lr * buffer
        else:
            x = x - lr * g / d
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.01),
        dict(lr=0.01, alpha=0.9, centered=True),
        dict(lr=0.01, momentum=0.9),
        dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.05),
    ],
    ids=str,
)
def test_rmsprop_follows_its_equation(options):
    same_path(run(optim.RMSprop, **options), reference_rmsprop(**options))


def test_centered_rmsprop_stays_finite_when_the_gradient_never_varies():
    # v - m^2 = alpha^t (1 - alpha^t) g^2 shrinks to rounding noise and can come out negative.
    x = mg.Tensor(np.ones(3, np.float32), requires_grad=True)
    optimizer = optim.RMSprop([x], lr=1e-12, alpha=0.5, centered=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(60):
            x.grad = np.full(3, 0.3, np.float32)
            optimizer.step()
    assert np.isfinite(x.data).all()


def reference_adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    x, total, path = START.copy(), initial_accumulator_value, []
    for t in range(1, STEPS + 1):
        g = gradient_at(t - 1) + weight_decay * x
        total = total + g**2
        x = x - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1),
        dict(lr=0.1, lr_decay=0.05),
        dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.2),
    ],
    ids=str,
)
def test_adagrad_follows_its_equation(options):
    same_path(run(optim.Adagrad, **options), reference_adagrad(**options))


ALL_OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)),
]
NAMES = [cls.__name__ for cls, _ in ALL_OPTIMIZERS]


@pytest.mark.parametrize("cls, options", ALL_OPTIMIZERS, ids=NAMES)
def test_maximize_is_descent_on_the_negated_gradient(cls, options):
    x = mg.Tensor(START, requires_grad=True)
    y = mg.Tensor(START, requires_grad=True)
    up, down = cls([x], maximize=True, **options), cls([y], **options)
    for t in range(STEPS):
        x.grad, y.grad = gradient_at(t), -gradient_at(t)
        up.step()
        down.step()
    np.testing.assert_array_equal(x.data, y.data)


@pytest.mark.parametrize("cls, options", ALL_OPTIMIZERS, ids=NAMES)
def test_float32_stays_float32(cls, options):
    path = run(cls, dtype=np.float32, **options)
    assert path.dtype == np.float32
    np.testing.assert_allclose(path, run(cls, **options), rtol=2e-4, atol=2e-5)
    x = mg.Tensor(START.astype(np.float32), requires_grad=True)
    optimizer = cls([x], **options)
    x.grad = np.ones(3, np.float32)
    optimizer.step()
    arrays = [v for v in optimizer.state[x].values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype == np.float32 for a in arrays)


@pytest.mark.parametrize("cls, options", ALL_OPTIMIZERS, ids=NAMES)
def test_updates_are_in_place_and_skip_parameters_without_grad(cls, options):
    x = mg.Tensor(START, requires_grad=True)
    idle = mg.Tensor(START, requires_grad=True)
    optimizer = cls([x, idle], **options)
    array = x.data
    x.grad = gradient_at(0)
    optimizer.step()
    assert x.data is array and not np.array_equal(array, START)
    np.testing.assert_array_equal(idle.data, START)
    assert idle not in optimizer.state


def test_param_groups_have_their_own_options():
    a = mg.Tensor([1.0], requires_grad=True)
    b = mg.Tensor([1.0], requires_grad=True)
    c = mg.Tensor([1.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.5}, {"params": c, "momentum": 0.5}]
    optimizer = optim.SGD(groups, lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5, 0.1]
    for _ in range(2):
        a.grad, b.grad, c.grad = (np.ones(1, np.float32) for _ in range(3))
        optimizer.step()
    # a, b: two plain steps; c: buffer 1 then 0.5 * 1 + 1 = 1.5.
    assert [a.item(), b.item(), c.item()] == pytest.approx([0.8, 0.0, 1 - 0.1 - 0.15], abs=1e-6)


@pytest.mark.parametrize("cls, options", ALL_OPTIMIZERS, ids=NAMES)
def test_state_dict_round_trip_continues_the_same_trajectory(cls, options):
    full = run(cls, **options)
    x = mg.Tensor(START, requires_grad=True)
    first = cls([x], **options)
    for t in range(10):
        x.grad = gradient_at(t)
        first.step()
    saved = first.state_dict()
    snapshot = {i: {k: np.copy(v) for k, v in s.items()} for i, s in saved["state"].items()}
    y = mg.Tensor(x.data.copy(), requires_grad=True)
    second = cls([y], lr=123.0)
    second.load_state_dict(saved)
    assert second.param_groups[0]["lr"] == options["lr"]
    for t in range(10, STEPS):
        x.grad, y.grad = gradient_at(t), gradient_at(t)
        first.step()
        second.step()
    np.testing.assert_array_equal(y.data, full[-1])
    for i, state in saved["state"].items():  # neither optimizer wrote into the saved arrays
        for name, value in state.items():
            np.testing.assert_array_equal(value, snapshot[i][name])


def test_loaded_state_takes_the_parameter_dtype():
    x = mg.Tensor(START, requires_grad=True)
    adam = optim.Adam([x])
    x.grad = gradient_at(0)
    adam.step()
    y = mg.Tensor(START.astype(np.float32), requires_grad=True)
    other = optim.Adam([y])
    other.load_state_dict(adam.state_dict())
    assert other.state[y]["exp_avg"].dtype == np.float32


def test_closure_runs_with_grad_on_and_its_loss_is_returned():
    x = mg.Tensor([3.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        assert optimizer.step(closure).item() == 9.0
    assert x.item() == pytest.approx(3.0 - 0.1 * 6.0)
    assert optimizer.step_count == 1


def test_zero_grad_sets_none_by_default_or_zeros():
    x = mg.Tensor([3.0, 1.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    x.grad = np.array([1.0, 2.0], np.float32)
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    optimizer.zero_grad()
    assert x.grad is None


# ---- the lectures' worked numbers ----------------------------------------------------------------


def gradient_descent(loss_of, start: float, lr: float, steps: int) -> tuple[list, list]:
    """theta_1 ... theta_steps and the gradients at theta_0 ... theta_{steps-1}."""
    theta = mg.Tensor(start, requires_grad=True)
    optimizer = optim.SGD([theta], lr=lr)
    thetas, grads = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(theta).backward()
        grads.append(theta.grad.item())
        optimizer.step()
        thetas.append(theta.item())
    return thetas, grads


def test_gradient_descent_on_the_parabola_exercise():
    """Lecture 004_a7d0a04e340c1d1f.txt, "Exercises (In pairs)": f(x) = x^2 + 2, f' = 2x,
    x0 = 4, eta = 0.25, five iterations: x_t = 4 * 0.5^t."""
    xs, _ = gradient_descent(lambda x: x * x + 2, 4.0, 0.25, 5)
    assert xs == [2.0, 1.0, 0.5, 0.25, 0.125]
    assert [x * x + 2 for x in [4.0] + xs] == [18.0, 6.0, 3.0, 2.25, 2.0625, 2.015625]


SECRET = ([2.0, 3.0, 5.0, 8.0], [4.0, 5.0, 7.0, 10.0])  # lecture 002, slide "Process"
NOISY = ([2.0, 3.0, 5.0, 8.0], [3.0, 6.0, 5.0, 12.0])  # lecture 002, "Adding noise to the game"


def squared_error(data):
    x, y = mg.Tensor(data[0]), mg.Tensor(data[1])
    return lambda theta: ((x + theta - y) ** 2).mean()


def test_secret_number_game():
    """Lecture 002_aa120863d57339f7.txt, "Gradient Descent" and "(second try)": every pair
    gives the loss (theta - 2)^2, gradient 2 theta - 4, from theta0 = 5. The slide prints
    theta_2 = 2.25 and theta_3 = 1.875 at lr 0.75: it writes the update -0.75 * (-3) = +2.25
    down as theta_2; theta_1 + 2.25 = 0.5 + 2.25 = 2.75."""
    thetas, grads = gradient_descent(squared_error(SECRET), 5.0, 1.0, 4)
    assert thetas == [-1.0, 5.0, -1.0, 5.0]  # "bounce back and forth" forever
    assert grads == [6.0, -6.0, 6.0, -6.0]
    thetas, grads = gradient_descent(squared_error(SECRET), 5.0, 0.75, 3)
    assert thetas == [0.5, 2.75, 1.625]
    assert grads == [6.0, -3.0, 1.5]


def test_noisy_secret_number_game_converges_to_two():
    """Lecture 002, "Batch Gradient Descent": the optimum is still 2 (the mean difference
    y - x), and the loss left there, mean((1, 1, 4, 4)) = 2.5, is above 0."""
    loss = squared_error(NOISY)
    thetas, _ = gradient_descent(loss, 5.0, 0.25, 40)  # theta - 2 halves every step
    assert thetas[-1] == pytest.approx(2.0, abs=1e-6)
    assert loss(mg.Tensor(2.0)).item() == 2.5


def test_exercise_step():
    """Lecture 004, "Exercise (Homework)": gradient [1, 2] at x = [4, 3] with eta = 0.5: the
    update direction is -[1, 2] and the step lands at [3.5, 2]."""
    x = mg.Tensor([4.0, 3.0], requires_grad=True)
    x.grad = np.array([1.0, 2.0], np.float32)
    optim.SGD([x], lr=0.5).step()
    assert x.tolist() == [3.5, 2.0]


def test_full_and_minibatch_gradients():
    """Lecture 004, "Exercise (Homework)": per-example gradients [7, 2], [3, 1], [2, 3], [4, 2],
    [3, 3]; the full gradient is their mean, the minibatch {2, 4, 5} the mean of those three.
    Each L_i(theta) = g_i . theta has gradient g_i, so the engine's gradients are checked."""
    per_example = mg.Tensor(np.array([[7, 2], [3, 1], [2, 3], [4, 2], [3, 3]], dtype=float))
    theta = mg.Tensor(np.zeros(2), requires_grad=True)
    (per_example @ theta).mean().backward()
    np.testing.assert_allclose(theta.grad, [3.8, 2.2], rtol=1e-15)
    theta.grad = None
    (per_example[np.array([2, 4, 5]) - 1] @ theta).mean().backward()
    np.testing.assert_allclose(theta.grad, [10 / 3, 2.0], rtol=1e-15)


def lecture_momentum(rates, lam):
    """Lecture 003, "Decay and momentum": v <- lambda v - alpha_t grad; x <- x + v."""
    x, v, path = START.copy(), 0.0, []
    for t, alpha in enumerate(rates):
        v = lam * v - alpha * gradient_at(t)
        x = x + v
        path.append(x)
    return np.array(path)


def test_momentum_unrolled_sum_and_the_lecture_form_equal_the_recursion():
    """Lecture 003, "First-order acceleration methods":
    x_{t+1} = x_0 - alpha sum_{i<=t} (1 - lambda^{t+1-i}) / (1 - lambda) grad_i."""
    alpha, lam = 0.1, 0.9
    path = run(optim.SGD, lr=alpha, momentum=lam)
    for t in range(STEPS):
        weights = [(1 - lam ** (t + 1 - i)) / (1 - lam) for i in range(t + 1)]
        unrolled = START - alpha * sum(w * gradient_at(i) for i, w in enumerate(weights))
        same_path(path[t], unrolled)
    same_path(path, lecture_momentum([alpha] * STEPS, lam))


def test_momentum_forms_part_under_a_schedule():
    """SGD's buffer is rescaled by today's rate; the lecture's velocity keeps old rates."""
    lam, rates = 0.9, [0.1 * 0.8**t for t in range(STEPS)]
    x = mg.Tensor(START, requires_grad=True)
    sgd = optim.SGD([x], lr=rates[0], momentum=lam)
    schedule = lr_scheduler.ExponentialLR(sgd, gamma=0.8)
    path = []
    for t in range(STEPS):
        x.grad = gradient_at(t)
        sgd.step()
        schedule.step()
        path.append(x.data.copy())
    expected, position = [], START.copy()
    for t in range(STEPS):
        position = position - rates[t] * sum(lam ** (t - i) * gradient_at(i) for i in range(t + 1))
        expected.append(position)
    same_path(np.array(path), np.array(expected))
    assert np.abs(np.array(path) - lecture_momentum(rates, lam)).max() > 0.05


def test_minibatch_gradient_variance_falls_as_one_over_b():
    """Lecture 001_7c5c639b47bbde7b.txt, "Minibatch SGD": with B examples drawn independently,
    Var[(1/B) sum_i grad_i] = Var[grad_i] / B. B times the variance stays at the per-example
    variance sigma^2 (exact, from all N per-example gradients) within sampling error."""
    generator = mg.manual_seed(7)
    n, d, draws = 200, 3, 2000
    X = generator.standard_normal((n, d))
    y = X @ np.array([1.0, -2.0, 0.5]) + generator.standard_normal(n)
    w = np.array([0.3, 0.1, -0.2])
    per_example = 2 * (X @ w - y)[:, None] * X  # grad of (x.w - y)^2 for each example
    sigma2 = per_example.var(axis=0).sum()
    for B in (1, 4, 16, 64):
        batches = mg.random.generator().integers(0, n, size=(draws, B))  # with replacement
        # One copy of w per draw, so a single backward gives every minibatch gradient.
        W = mg.Tensor(np.tile(w, (draws, 1)), requires_grad=True)
        residual = (mg.Tensor(X[batches]) * W.unsqueeze(1)).sum(axis=2) - mg.Tensor(y[batches])
        (residual**2).mean(axis=1).sum().backward()
        grads = W.grad
        np.testing.assert_allclose(grads, per_example[batches].mean(axis=1), rtol=1e-9, atol=1e-12)
        squared = ((grads - grads.mean(axis=0)) ** 2).sum(axis=1)
        standard_error = squared.std() / math.sqrt(draws)
        assert abs(B * squared.mean() - sigma2) < 4 * B * standard_error
        assert B * standard_error < 0.15 * sigma2  # the check has teeth: error well under 1/B


# ---- schedules ---------------------------------------------------------------------------------


def schedule_values(make, steps=12, lr=1.0):
    x = mg.Tensor([0.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=lr)
    scheduler = make(optimizer)
    values, epochs = [], []
    for _ in range(steps):
        values.append(scheduler.get_last_lr()[0])
        epochs.append(scheduler.last_epoch)
        assert optimizer.param_groups[0]["lr"] == values[-1]
        x.grad = np.zeros(1, np.float32)
        optimizer.step()
        scheduler.step()
    assert epochs == list(range(steps))
    return values


SCHEDULES = {
    "LambdaLR": (lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (t + 1)), lambda t: 1 / (t + 1)),
    "StepLR": (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lambda t: 0.5 ** (t // 3)),
    "ExponentialLR": (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lambda t: 0.9**t),
    "LinearLR": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
        lambda t: 0.25 + 0.75 * min(t, 4) / 4,
    ),
    "LinearLR default": (lr_scheduler.LinearLR, lambda t: 1 / 3 + (2 / 3) * min(t, 5) / 5),
    "CosineAnnealingLR": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.1),
        lambda t: 0.1 + 0.9 * (1 + math.cos(math.pi * t / 6)) / 2,
    ),
    "InverseTimeLR": (
        lambda o: lr_scheduler.InverseTimeLR(o, rho=0.5),
        lambda t: 1 / (1 + 0.5 * t),
    ),
    "lecture linear": (
        lambda o: lr_scheduler.lecture_schedule("linear", o, rho=4, final_lr=0.2),
        lambda t: (1 - t / 4) * 1.0 + t / 4 * 0.2 if t <= 4 else 0.2,
    ),
    "lecture inverse_time": (
        lambda o: lr_scheduler.lecture_schedule("inverse_time", o, rho=0.3),
        lambda t: 1 / (1 + 0.3 * t),
    ),
    "lecture exponential": (
        lambda o: lr_scheduler.lecture_schedule("exponential", o, rho=0.2),
        lambda t: math.exp(-0.2 * t),
    ),
}


@pytest.mark.parametrize("make, formula", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_schedules_follow_their_formulas(make, formula):
    np.testing.assert_allclose(schedule_values(make), [formula(t) for t in range(12)], rtol=1e-13)


def test_lecture_schedules_are_the_named_classes():
    sgd = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    assert type(lr_scheduler.lecture_schedule("linear", sgd, rho=3, final_lr=0.1)) is (
        lr_scheduler.LectureLinearLR
    )
    assert type(lr_scheduler.lecture_schedule("inverse_time", sgd, rho=0.1)) is (
        lr_scheduler.InverseTimeLR
    )
    assert type(lr_scheduler.lecture_schedule("exponential", sgd, rho=0.1)) is (
        lr_scheduler.LectureExponentialLR
    )


def test_each_group_is_scheduled_from_its_own_initial_rate():
    a, b = (mg.Tensor([0.0], requires_grad=True) for _ in range(2))
    sgd = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
    schedule = lr_scheduler.LambdaLR(sgd, [lambda t: 0.5**t, lambda t: 1.0 + t])
    sgd.step()
    schedule.step()
    sgd.step()
    schedule.step()
    assert schedule.get_last_lr() == [0.25, 1.5]
    assert [g["initial_lr"] for g in sgd.param_groups] == [1.0, 0.5]


def test_scheduler_before_optimizer_warns_and_the_right_order_does_not():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.warns(UserWarning, match=r"before optimizer.step\(\)"):
        scheduler.step()
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler = lr_scheduler.StepLR(optimizer, step_size=1)
        optimizer.step()
        scheduler.step()


def chained_rates(makers, steps=10, lr=1.0):
    """The rate of each update with the schedules `makers` made, in order, on one optimizer."""
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=lr)
    schedules = [make(optimizer) for make in makers]
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        for schedule in schedules:
            schedule.step()
    return rates


CHAINS = {
    "StepLR then ExponentialLR": (
        [
            lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
            lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
        ],
        lambda t: 0.5 ** (t // 3) * 0.9**t,
    ),
    "LinearLR warm-up then CosineAnnealingLR": (
        [
            lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=8),
        ],
        lambda t: (0.25 + 0.75 * min(t, 4) / 4) * (1 + math.cos(math.pi * t / 8)) / 2,
    ),
}


@pytest.mark.parametrize("makers, formula", CHAINS.values(), ids=list(CHAINS))
def test_two_schedules_on_one_optimizer_multiply_their_factors(makers, formula):
    expected = [2.0 * formula(t) for t in range(10)]
    np.testing.assert_allclose(chained_rates(makers, lr=2.0), expected, rtol=1e-13)
    np.testing.assert_allclose(chained_rates(makers[::-1], lr=2.0), expected, rtol=1e-13)


@pytest.mark.parametrize("make, formula", SCHEDULES.values(), ids=list(SCHEDULES))
def test_a_lone_schedule_sets_its_closed_form_exactly(make, formula):
    assert chained_rates([make], steps=12) == [make_closed_form(make, t) for t in range(12)]


def make_closed_form(make, t: int) -> float:
    """lr_t of the schedule `make` makes, from its closed form (its `_lr`) alone."""
    schedule = make(optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0))
    return float(schedule._lr(0, 1.0, t))


def test_a_lone_schedule_stays_exact_through_a_rate_of_zero():
    rates = chained_rates([lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2)], steps=7)
    np.testing.assert_allclose(rates, [1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-15)


def test_a_rate_set_by_hand_is_scaled_by_the_schedule_as_in_pytorch():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    schedule = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    optimizer.step()
    schedule.step()
    optimizer.param_groups[0]["lr"] = 0.1
    optimizer.step()
    schedule.step()
    assert schedule.get_last_lr() == [pytest.approx(0.05, rel=1e-15)]


def test_scheduler_state_round_trip():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    other_optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    other_optimizer.load_state_dict(optimizer.state_dict())
    other = lr_scheduler.ExponentialLR(other_optimizer, gamma=0.9)
    other.load_state_dict(state)
    assert (other.last_epoch, other.gamma) == (2, 0.5)
    other_optimizer.step()
    other.step()
    assert other.get_last_lr() == [0.125]


def test_resuming_a_schedule_needs_the_initial_rate():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="needs 'initial_lr' in param group 0"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=4)


# ---- line search ---------------------------------------------------------------------------------

A = np.diag([1.0, 50.0])  # condition number 50


def quadratic(w):
    return (w @ mg.Tensor(A) @ w) * 0.5


@pytest.mark.parametrize("method", ["backtracking", "golden"])
def test_line_search_lowers_the_loss_every_step_and_beats_fixed_steps(method):
    w = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    search = optim.LineSearch([w], method=method)
    losses = [quadratic(w).item()]
    for _ in range(15):
        search.step(lambda: quadratic(w))
        losses.append(quadratic(w).item())
    assert all(after < before for before, after in zip(losses, losses[1:]))
    v = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    fixed = optim.SGD([v], lr=2 / 51)  # 2 / (L + mu), the best fixed step on this quadratic
    for _ in range(15):
        fixed.zero_grad()
        quadratic(v).backward()
        fixed.step()
    assert losses[-1] < quadratic(v).item()


def test_golden_search_finds_the_exact_step():
    """On f = x^T A x / 2 the exact step along -g is alpha* = g^T g / g^T A g."""
    x0 = np.array([5.0, 1.0])
    w = mg.Tensor(x0, requires_grad=True)
    search = optim.LineSearch([w], method="golden", tol=1e-9)
    search.step(lambda: quadratic(w))
    g = A @ x0
    assert search.last_alpha == pytest.approx(g @ g / (g @ A @ g), rel=1e-6)
    np.testing.assert_allclose(w.grad, g)


def test_backtracking_takes_the_first_step_that_passes_armijo():
    x0 = np.array([5.0, 1.0])
    w = mg.Tensor(x0, requires_grad=True)
    search = optim.LineSearch([w], alpha0=1.0, beta=0.5, c=0.3)
    search.step(lambda: quadratic(w))
    g, f0 = A @ x0, x0 @ A @ x0 / 2

    def passes(alpha):
        x = x0 - alpha * g
        return x @ A @ x / 2 <= f0 - 0.3 * alpha * g @ g

    alpha = search.last_alpha
    assert passes(alpha) and not passes(2 * alpha) and alpha in [0.5**k for k in range(60)]
    np.testing.assert_array_equal(w.data, x0 - alpha * g)


def test_line_search_evaluates_trial_points_without_recording():
    w = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    modes = []

    def closure():
        modes.append(mg.is_grad_enabled())
        return quadratic(w)

    optim.LineSearch([w], method="golden").step(closure)
    assert modes[0] and len(modes) > 10 and not any(modes[1:])


def test_line_search_accepts_a_closure_that_calls_backward():
    w = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    v = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    search = optim.LineSearch([w], method="golden")

    def closure():
        search.zero_grad()
        loss = quadratic(w)
        loss.backward()
        return loss

    search.step(closure)
    plain = optim.LineSearch([v], method="golden")
    plain.step(lambda: quadratic(v))
    assert search.last_alpha == plain.last_alpha > 0
    np.testing.assert_array_equal(w.grad, A @ np.array([5.0, 1.0]))


def test_line_search_keeps_float32_in_place():
    w = mg.Tensor(np.array([5.0, 1.0], np.float32), requires_grad=True)
    array = w.data
    optim.LineSearch([w]).step(lambda: quadratic(w.to(np.float64)))
    assert w.data is array and w.dtype == np.float32
    assert quadratic(w.to(np.float64)).item() < quadratic(mg.Tensor([5.0, 1.0])).item()


# ---- bad input -----------------------------------------------------------------------------------


def param():
    return mg.Tensor([1.0], requires_grad=True)


BAD_OPTIONS = [
    (lambda: optim.SGD([param()], lr=-0.1), r"learning rate must be >= 0, got lr=-0.1"),
    (lambda: optim.SGD([{"params": [param()], "lr": -1.0}], lr=0.1), "learning rate must be"),
    (lambda: optim.SGD([param()], lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),
    (lambda: optim.SGD([param()], lr=0.1, momentum=-0.5), r"momentum must be in \[0, 1\)"),
    (lambda: optim.SGD([param()], lr=0.1, dampening=1.5), r"dampening must be in \[0, 1\]"),
    (lambda: optim.SGD([param()], lr=0.1, nesterov=True), "nesterov momentum needs momentum > 0"),
    (
        lambda: optim.SGD([param()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        "nesterov momentum needs momentum > 0 and dampening = 0",
    ),
    (lambda: optim.SGD([param()], lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
    (lambda: optim.Adam([param()], betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
    (lambda: optim.Adam([param()], betas=(-0.1, 0.9)), r"betas must be two numbers in \[0, 1\)"),
    (lambda: optim.Adam([param()], betas=(0.9,)), "betas must be two numbers"),
    (lambda: optim.Adam([param()], eps=-1.0), "eps must be >= 0, got -1.0"),
    (lambda: optim.AdamW([param()], lr=-1e-3), "learning rate must be >= 0"),
    (lambda: optim.RMSprop([param()], alpha=1.0), r"alpha must be in \[0, 1\)"),
    (lambda: optim.RMSprop([param()], momentum=1.2), r"momentum must be in \[0, 1\)"),
    (lambda: optim.RMSprop([param()], eps=-1e-8), "eps must be >= 0"),
    (lambda: optim.Adagrad([param()], lr_decay=-0.1), "lr_decay must be >= 0"),
    (lambda: optim.Adagrad([param()], initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda: optim.Adagrad([param()], eps=-1.0), "eps must be >= 0"),
    (lambda: optim.SGD([mg.Tensor([1.0])], lr=0.1), "does not require grad"),
    (lambda: optim.SGD([param() * 2], lr=0.1), "is not a leaf"),
    (lambda: optim.SGD([], lr=0.1), "SGD got an empty parameter list"),
    (lambda: optim.Adam(iter([])), "Adam got an empty parameter list"),
    (lambda: optim.SGD([{"lr": 0.1}], lr=0.1), "a param group needs a 'params' entry"),
    (lambda: optim.LineSearch([param()], method="newton"), "method must be 'backtracking' or"),
    (lambda: optim.LineSearch([param()], alpha0=0), "alpha0 must be > 0"),
    (lambda: optim.LineSearch([param()], alpha_max=-1), "alpha_max must be > 0"),
    (lambda: optim.LineSearch([param()], beta=1.0), r"beta must be in \(0, 1\)"),
    (lambda: optim.LineSearch([param()], c=0), r"c must be in \(0, 1\)"),
    (lambda: optim.LineSearch([param()], tol=2), r"tol must be in \(0, 1\)"),
    (lambda: optim.LineSearch([param()], max_evaluations=0), "max_evaluations must be an int"),
    (
        lambda: optim.LineSearch([{"params": [param()]}, {"params": [param()]}]),
        "LineSearch takes one group of parameters",
    ),
]


@pytest.mark.parametrize("make, message", BAD_OPTIONS, ids=[m for _, m in BAD_OPTIONS])
def test_bad_options_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_parameter_given_twice_is_refused():
    p = param()
    with pytest.raises(ValueError, match=r"a parameter of shape \(1,\) appears more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([{"params": [p]}, {"params": [param(), p]}], lr=0.1)


def test_params_of_the_wrong_type_are_refused():
    with pytest.raises(TypeError, match="optimizers take Tensors, got ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="not a mix"):
        optim.SGD([{"params": [param()]}, param()], lr=0.1)


def test_line_search_needs_a_closure_and_a_loss_of_the_parameters():
    with pytest.raises(ValueError, match="needs a closure that recomputes and returns the loss"):
        optim.LineSearch([param()]).step()
    with pytest.raises(ValueError, match="does not depend on the parameters"):
        optim.LineSearch([param()]).step(lambda: mg.Tensor(1.0))


def test_bad_state_dicts_are_refused():
    x = mg.Tensor(START, requires_grad=True)
    adam = optim.Adam([x])
    x.grad = gradient_at(0)
    adam.step()
    saved = adam.state_dict()
    with pytest.raises(ValueError, match=r"param groups have sizes \[1\], this optimizer's \[2\]"):
        optim.Adam([param(), param()]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"missing \['state'\]"):
        optim.Adam([param()]).load_state_dict({"param_groups": saved["param_groups"]})
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(3,\)"):
        optim.Adam([param()]).load_state_dict(saved)
    with pytest.raises(ValueError, match="state for parameter 5, but there are only 1"):
        optim.Adam([mg.Tensor(START, requires_grad=True)]).load_state_dict(
            {"state": {5: {}}, "param_groups": saved["param_groups"]}
        )


BAD_SCHEDULES = [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be >= 1"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\]"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), r"end_factor must be in \[0, 1\]"),
    (lambda o: lr_scheduler.LinearLR(o, total_iters=0), "total_iters must be >= 1"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be >= 1"),
    (lambda o: lr_scheduler.InverseTimeLR(o, rho=-0.1), "rho must be >= 0"),
    (lambda o: lr_scheduler.LambdaLR(o, [abs, abs]), "expected 1 lr_lambdas, one per param group"),
    (lambda o: lr_scheduler.lecture_schedule("exponential", o, rho=-1), "rho must be >= 0"),
    (
        lambda o: lr_scheduler.lecture_schedule("linear", o, rho=0, final_lr=0.1),
        r"rho \(the number of decay steps\) must be >= 1",
    ),
    (
        lambda o: lr_scheduler.lecture_schedule("linear", o, rho=5, final_lr=-0.1),
        "final_lr",
    ),
    (lambda o: lr_scheduler.lecture_schedule("cosine", o), "unknown schedule 'cosine'"),
    (lambda o: lr_scheduler.ExponentialLR(optim.LineSearch([param()]), 0.5), "no learning rate"),
]


@pytest.mark.parametrize("make, message", BAD_SCHEDULES, ids=[m for _, m in BAD_SCHEDULES])
def test_bad_schedules_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make(optim.SGD([param()], lr=0.1))


def test_a_scheduler_needs_an_optimizer_and_functions():
    with pytest.raises(TypeError, match="a scheduler needs an Optimizer, got list"):
        lr_scheduler.StepLR([param()], step_size=1)
    with pytest.raises(TypeError, match="lr_lambda must be a function"):
        lr_scheduler.LambdaLR(optim.SGD([param()], lr=0.1), 0.5)
