"""minigrad.optim: every update rule against its equation in NumPy, the lectures' worked numbers,
schedules, line search, state dicts and bad input."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler

STEPS = 20


def gradient_at(t: int, shape=(3,)) -> np.ndarray:
    """A fixed, step-dependent gradient sequence (float64, so references compare exactly)."""
    base = np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape)
    return base * math.cos(0.7 * t) + 0.3 * t / STEPS


def run(optimizer_class, steps=STEPS, start=None, **options):
    x = mg.Tensor(np.array([0.5, -1.0, 2.0]) if start is None else start, requires_grad=True)
    optimizer = optimizer_class([x], **options)
    path = []
    for t in range(steps):
        x.grad = gradient_at(t)
        optimizer.step()
        path.append(x.data.copy())
    return np.array(path)


def reference_sgd(
    lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False
):
    x, buffer, path = np.array([0.5, -1.0, 2.0]), None, []
    for t in range(STEPS):
        g = gradient_at(t) * (-1 if maximize else 1) + weight_decay * x
        if momentum:
            buffer = g.copy() if buffer is None else momentum * buffer + (1 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        x = x - lr * g
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.1, momentum=0.8, dampening=0.3),
        dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.1, momentum=0.5, weight_decay=0.1),
        dict(lr=0.1, maximize=True),
    ],
)
def test_sgd_matches_its_equation(options):
    assert np.allclose(run(optim.SGD, **options), reference_sgd(**options), rtol=1e-12, atol=1e-12)


def reference_adam(
    lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False
):
    b1, b2 = betas
    x, m, v, v_max, path = np.array([0.5, -1.0, 2.0]), 0.0, 0.0, 0.0, []
    for t in range(1, STEPS + 1):
        g = gradient_at(t - 1)
        if decoupled:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        v_used = v_max if amsgrad else v
        x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v_used / (1 - b2**t)) + eps)
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1), dict(lr=0.1, amsgrad=True)],
)
def test_adam_matches_its_equation(options):
    assert np.allclose(run(optim.Adam, **options), reference_adam(**options), rtol=1e-10)


def test_adamw_decays_the_weights_directly():
    path = run(optim.AdamW, lr=0.1, weight_decay=0.2)
    assert np.allclose(path, reference_adam(0.1, weight_decay=0.2, decoupled=True), rtol=1e-10)
    assert not np.allclose(path, run(optim.Adam, lr=0.1, weight_decay=0.2))


def reference_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    x, square, mean, buffer, path = np.array([0.5, -1.0, 2.0]), 0.0, 0.0, 0.0, []
    for t in range(STEPS):
        g = gradient_at(t) + weight_decay * x
        square = alpha * square + (1 - alpha) * g * g
        mean = alpha * mean + (1 - alpha) * g
        denominator = np.sqrt(square - mean * mean if centered else square) + eps
        if momentum:
            buffer = momentum * buffer + g / denominator
            x = x - lr * buffer
        else:
            x = x - lr * g / denominator
        path.append(x)
    return np.array(path)


@pytest.mark.parametrize(
    "options",
    [dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9, weight_decay=0.05)],
)
def test_rmsprop_matches_its_equation(options):
    assert np.allclose(run(optim.RMSprop, **options), reference_rmsprop(**options), rtol=1e-10)


def test_adagrad_matches_its_equation():
    lr, decay, eps = 0.1, 0.05, 1e-10
    x, total, expected = np.array([0.5, -1.0, 2.0]), 0.2, []
    for t in range(STEPS):
        g = gradient_at(t) + 0.01 * x
        total = total + g * g
        x = x - lr / (1 + t * decay) * g / (np.sqrt(total) + eps)
        expected.append(x)
    path = run(
        optim.Adagrad, lr=lr, lr_decay=decay, weight_decay=0.01, initial_accumulator_value=0.2
    )
    assert np.allclose(path, expected, rtol=1e-10)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p, lr=0.01),
        lambda p: optim.AdamW(p, lr=0.01),
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
        lambda p: optim.Adagrad(p, lr=0.1),
    ],
)
def test_float32_stays_float32(make):
    x = mg.Tensor(np.ones(4, np.float32), requires_grad=True)
    optimizer = make([x])
    for _ in range(3):
        x.grad = np.full(4, 0.5, np.float32)
        optimizer.step()
    assert x.data.dtype == np.float32
    assert all(
        v.dtype == np.float32 for v in optimizer.state[x].values() if isinstance(v, np.ndarray)
    )


def test_param_groups_have_their_own_options():
    a = mg.Tensor([1.0], requires_grad=True)
    b = mg.Tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.ones(1, np.float32), np.ones(1, np.float32)
    optimizer.step()
    assert np.isclose(a.item(), 0.9) and np.isclose(b.item(), 0.5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_state_dict_round_trip_continues_the_same_trajectory(name):
    options = {"SGD": dict(lr=0.1, momentum=0.9), "RMSprop": dict(lr=0.01, centered=True)}
    cls = getattr(optim, name)
    full = run(cls, **options.get(name, dict(lr=0.05)))
    x = mg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    first = cls([x], **options.get(name, dict(lr=0.05)))
    for t in range(10):
        x.grad = gradient_at(t)
        first.step()
    saved, position = first.state_dict(), x.data.copy()
    y = mg.Tensor(position, requires_grad=True)
    second = cls([y], lr=123.0)
    second.load_state_dict(saved)
    for t in range(10, STEPS):
        y.grad = gradient_at(t)
        second.step()
    assert np.allclose(y.data, full[-1], rtol=1e-12)


def test_closure_loss_is_returned_and_zero_grad_sets_none():
    x = mg.Tensor([3.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 9.0
    assert np.isclose(x.item(), 3.0 - 0.1 * 6.0)
    optimizer.zero_grad()
    assert x.grad is None


# ---- the lectures' worked numbers ---------------------------------------------------------------


def gradient_descent(loss_of, start: float, lr: float, steps: int) -> list:
    theta = mg.Tensor(np.array(start), requires_grad=True)
    optimizer = optim.SGD([theta], lr=lr)
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(theta).backward()
        optimizer.step()
        values.append(theta.item())
    return values


def test_gradient_descent_on_a_parabola():
    """Lecture 004, "Exercises": f(x) = x^2 + 2, x0 = 4, eta = 0.25: x_t = 4 * 0.5^t."""
    xs = gradient_descent(lambda x: x * x + 2, 4.0, 0.25, 5)
    assert xs == [4 * 0.5**t for t in range(1, 6)]
    assert [x * x + 2 for x in xs] == [6.0, 3.0, 2.25, 2.0625, 2.015625]


def test_secret_number_game():
    """Lecture 002: loss (2 + theta - 4)^2 from theta0 = 5. At lr 1 it bounces 5, -1, 5; at lr
    0.75 it goes 0.5, 2.75, 1.625. (The slide prints 2.25 and 1.875 for lr 0.75: it writes the
    update +2.25 down as theta_2; 0.5 + 2.25 = 2.75.)"""
    loss = lambda theta: (2 + theta - 4) ** 2  # noqa: E731
    assert gradient_descent(loss, 5.0, 1.0, 4) == [-1.0, 5.0, -1.0, 5.0]
    assert gradient_descent(loss, 5.0, 0.75, 3) == [0.5, 2.75, 1.625]


def test_noisy_secret_number_game_converges_to_two():
    X, y = mg.data.noisy_secret_number()
    x, target = mg.Tensor(X[:, 0].astype(np.float64)), mg.Tensor(y.astype(np.float64))
    values = gradient_descent(lambda theta: ((x + theta - target) ** 2).mean(), 5.0, 0.1, 100)
    assert abs(values[-1] - 2.0) < 1e-6
    assert np.isclose(((X[:, 0] + 2.0 - y) ** 2).mean(), 2.5)  # the loss left over is > 0


def test_exercise_step():
    """Lecture 004, "Exercise (Homework)": at x = [4, 3] with gradient [1, 2] and lr 0.5."""
    x = mg.Tensor([4.0, 3.0], requires_grad=True)
    x.grad = np.array([1.0, 2.0], np.float32)
    optim.SGD([x], lr=0.5).step()
    assert x.tolist() == [3.5, 2.0]


def test_full_and_minibatch_gradients():
    """Lecture 004, "Exercise (Homework)": five per-example gradients, batch {2, 4, 5}."""
    per_example = np.array([[7, 2], [3, 1], [2, 3], [4, 2], [3, 3]], dtype=float)
    assert np.allclose(per_example.mean(axis=0), [3.8, 2.2])
    batch = np.array([2, 4, 5]) - 1
    assert np.allclose(per_example[batch].mean(axis=0), [10 / 3, 2.0])


def test_momentum_unrolled_sum_equals_the_recursion():
    """Lecture 003, "First-order acceleration methods":
    x_{t+1} = x_0 - alpha sum_i (1 - lambda^{t+1-i}) / (1 - lambda) grad_i, for a fixed
    gradient sequence; the lecture's v-form equals SGD's at constant lr."""
    alpha, lam = 0.1, 0.9
    path = run(optim.SGD, lr=alpha, momentum=lam)
    x0 = np.array([0.5, -1.0, 2.0])
    for t in range(STEPS):
        weights = [(1 - lam ** (t + 1 - i)) / (1 - lam) for i in range(t + 1)]
        unrolled = x0 - alpha * sum(w * gradient_at(i) for i, w in enumerate(weights))
        assert np.allclose(path[t], unrolled)
    v, x = 0.0, x0
    for t in range(STEPS):
        v = lam * v - alpha * gradient_at(t)
        x = x + v
    assert np.allclose(path[-1], x)


# ---- schedules ------------------------------------------------------------------------------------


def schedule_values(make, steps=8, lr=1.0):
    x = mg.Tensor([0.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=lr)
    scheduler = make(optimizer)
    values = []
    for _ in range(steps):
        values.append(scheduler.get_last_lr()[0])
        x.grad = np.zeros(1, np.float32)
        optimizer.step()
        scheduler.step()
    return values


@pytest.mark.parametrize(
    "make, formula",
    [
        (lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (t + 1)), lambda t: 1 / (t + 1)),
        (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lambda t: 0.5 ** (t // 3)),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lambda t: 0.9**t),
        (
            lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
            lambda t: 0.25 + 0.75 * min(t, 4) / 4,
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.1),
            lambda t: 0.1 + 0.9 * (1 + math.cos(math.pi * t / 6)) / 2,
        ),
        (lambda o: lr_scheduler.InverseTimeLR(o, rho=0.5), lambda t: 1 / (1 + 0.5 * t)),
        (
            lambda o: lr_scheduler.lecture_schedule("linear", o, rho=4, final_lr=0.2),
            lambda t: (1 - min(t, 4) / 4) * 1.0 + min(t, 4) / 4 * 0.2,
        ),
        (
            lambda o: lr_scheduler.lecture_schedule("inverse_time", o, rho=0.3),
            lambda t: 1 / (1 + 0.3 * t),
        ),
        (
            lambda o: lr_scheduler.lecture_schedule("exponential", o, rho=0.2),
            lambda t: math.exp(-0.2 * t),
        ),
    ],
)
def test_schedules_follow_their_formulas(make, formula):
    assert np.allclose(schedule_values(make), [formula(t) for t in range(8)])


def test_scheduler_before_optimizer_warns():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        scheduler.step()


def test_scheduler_state_round_trip():
    optimizer = optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    optimizer.step()
    scheduler.step()
    scheduler.step()
    state = scheduler.state_dict()
    other = lr_scheduler.ExponentialLR(
        optim.SGD([mg.Tensor([0.0], requires_grad=True)], lr=1.0), 0.5
    )
    other.load_state_dict(state)
    assert other.last_epoch == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other.step()
    assert np.isclose(other.get_last_lr()[0], 0.125)


# ---- line search ----------------------------------------------------------------------------------


def quadratic(w):
    A = mg.Tensor(np.diag([1.0, 50.0]))
    return (w @ A @ w) * 0.5


@pytest.mark.parametrize("method", ["backtracking", "golden"])
def test_line_search_lowers_the_loss_every_step_and_beats_fixed_steps(method):
    w = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    search = optim.LineSearch([w], method=method)
    losses = [quadratic(w).item()]
    for _ in range(15):
        search.step(lambda: quadratic(w))
        losses.append(quadratic(w).item())
    assert all(b < a for a, b in zip(losses, losses[1:]))
    v = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    fixed = optim.SGD([v], lr=0.039)  # just under 2/L = 0.04, the largest stable fixed step
    for _ in range(15):
        fixed.zero_grad()
        quadratic(v).backward()
        fixed.step()
    assert losses[-1] < quadratic(v).item()


def test_line_search_accepts_a_closure_that_calls_backward():
    w = mg.Tensor(np.array([5.0, 1.0]), requires_grad=True)
    search = optim.LineSearch([w], method="golden")

    def closure():
        search.zero_grad()
        loss = quadratic(w)
        loss.backward()
        return loss

    search.step(closure)
    assert quadratic(w).item() < quadratic(mg.Tensor(np.array([5.0, 1.0]))).item()
    assert search.last_alpha > 0


def test_minibatch_gradient_variance_falls_as_one_over_b():
    """Lecture 001, "Minibatch SGD": Var[mean of B per-example gradients] = sigma^2 / B."""
    generator = np.random.default_rng(0)
    X = generator.standard_normal((500, 2))
    y = X @ np.array([1.0, -2.0]) + generator.standard_normal(500)
    w = mg.Tensor(np.zeros(2), requires_grad=True)
    mg.manual_seed(0)
    scaled = []
    for B in (1, 4, 16, 64):
        grads = []
        for _ in range(400):
            batch = mg.random.generator().integers(0, 500, B)
            w.grad = None
            (((mg.Tensor(X[batch]) @ w - mg.Tensor(y[batch])) ** 2).mean()).backward()
            grads.append(w.grad.copy())
        scaled.append(np.var(np.array(grads), axis=0).sum() * B)
    assert max(scaled) / min(scaled) < 1.35  # constant within sampling error (400 draws each)


# ---- bad input -------------------------------------------------------------------------------------


def make_param():
    return mg.Tensor([1.0], requires_grad=True)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: optim.SGD([make_param()], lr=-0.1), "learning rate must be >= 0"),
        (lambda: optim.SGD([make_param()], lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
        (lambda: optim.SGD([make_param()], lr=0.1, momentum=-0.5), r"momentum must be in \[0, 1\)"),
        (
            lambda: optim.SGD([make_param()], lr=0.1, nesterov=True),
            "nesterov momentum needs momentum > 0",
        ),
        (lambda: optim.Adam([make_param()], betas=(0.9, 1.0)), r"betas must each be in \[0, 1\)"),
        (lambda: optim.Adam([make_param()], eps=-1.0), "eps must be >= 0"),
        (lambda: optim.SGD([mg.Tensor([1.0])], lr=0.1), "does not require grad"),
        (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda: optim.LineSearch([make_param()], method="newton"), "method must be"),
    ],
)
def test_bad_options_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_parameter_given_twice_is_refused():
    p = make_param()
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)


def test_line_search_needs_a_closure():
    with pytest.raises(ValueError, match="needs a closure"):
        optim.LineSearch([make_param()]).step()
