"""The benchmark harness's plumbing: engines in processes of their own, answering in turns.

These check that the harness runs and reports, not how fast anything is: timings belong to
`python -m benchmarks`, never to the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.engines import EngineError, start_engines, stop_engines
from benchmarks.harness import compare_gradients, in_turns

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engines():
    started, notes = start_engines(["numpy", "minigrad"], 1, "modules", system_malloc=False)
    yield started
    stop_engines(started)


def test_each_engine_has_a_process_of_its_own_with_its_threads_pinned(engines):
    pids = {engine.process.pid for engine in engines.values()}
    assert len(pids) == 2
    first_cpu = min(os.sched_getaffinity(0))
    for engine in engines.values():
        assert engine.meta["thread_variables"]["OPENBLAS_NUM_THREADS"] == "1"
        assert engine.meta["cpus"] == [first_cpu]  # both on one and the same core
        assert engine.meta["allocator_variables"]["MALLOC_TRIM_THRESHOLD_"] == "268435456"
    assert engines["minigrad"].meta["minigrad_mlp_form"] == "modules"


def test_engines_compute_the_same_gradients_in_their_processes(engines):
    for engine in engines.values():
        engine.prepare("chain", "chain", 30)
    numpy_gradient, minigrad_gradient = (engines[name].run("chain")[0] for name in engines)
    assert numpy_gradient.shape == (16,)
    assert numpy_gradient.tolist() == pytest.approx(minigrad_gradient.tolist(), rel=1e-5)
    forward, backward = engines["minigrad"].time_phases("chain")
    assert forward > 0 and backward > 0
    for engine in engines.values():
        engine.drop("chain")


def test_a_failed_request_raises_with_the_workers_traceback_and_the_worker_lives_on(engines):
    with pytest.raises(EngineError, match="KeyError: 'no such problem'"):
        engines["numpy"].prepare("x", "mlp", "no such problem")
    with pytest.raises(EngineError, match="KeyError: 'never prepared'"):
        engines["numpy"].time("never prepared", 1)
    engines["numpy"].prepare("lecture", "mlp", "lecture_mlp")
    assert engines["numpy"].time("lecture", 2) > 0
    engines["numpy"].drop("lecture")


def test_turns_rotate_so_no_engine_always_follows_the_same_one():
    order = []
    in_turns({name: (lambda n=name: order.append(n)) for name in "abc"}, repeat=3)
    assert order == list("abcbcacab")


def test_quick_run_prints_a_table_and_writes_its_json(tmp_path):
    result_file = tmp_path / "results.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--threads=1", "--cases=1,6"]
    command += ["--engines=numpy,minigrad", f"--json={result_file}"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "minigrad gradients match the NumPy reference" in completed.stdout
    assert "| 1 op overhead, fw+bw per op | us | 1 |" in completed.stdout
    assert "| 6 peak memory, case-3 step | MiB | 1 |" in completed.stdout
    run = json.loads(result_file.read_text())["runs"][0]
    assert set(run["meta"]) == {"numpy", "minigrad"}
    assert [row["case"] for row in run["rows"]] == [
        "1 op overhead, fw+bw per op",
        "6 peak memory, case-3 step",
    ]


def test_chain_growth_pairs_the_two_lengths_of_each_round():
    from benchmarks.cases import _round_growths

    short = [(1.0, 1.0), (2.0, 2.0), (1.0, 3.0)]
    long = [(10.0, 10.0), (30.0, 30.0), (20.0, 20.0)]
    assert _round_growths(short, long) == [10.0, 15.0, 10.0]


def test_quick_cnn_cases_check_gradients_and_report_time_and_memory(tmp_path):
    command = [sys.executable, "-m", "benchmarks", "--quick", "--threads=1", "--cases=8,9"]
    command += ["--engines=numpy,minigrad", "--long-repeat=2"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "check 8 LeNet CNN: minigrad gradients match the NumPy reference" in completed.stdout
    assert "check 9 conv2d: minigrad gradients match the NumPy reference" in completed.stdout
    for row in (
        "| 8 LeNet-5 CNN b64, SGD step | ms | 1 |",
        "| 8 peak memory, LeNet step | MiB | 1 |",
        "| 9 conv2d 64->64 3x3 32x32 b32, fw+bw | ms | 1 |",
        "| 9 same, achieved | GFLOP/s | 1 |",
    ):
        assert row in completed.stdout, row


def test_the_hand_written_col2im_is_the_adjoint_of_im2col():
    import numpy as np

    from benchmarks.numpy_reference import col2im, im2col

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    columns = rng.standard_normal(im2col(x, 3).shape)
    assert np.sum(im2col(x, 3) * columns) == pytest.approx(np.sum(x * col2im(columns, x.shape, 3)))


def test_the_hand_written_max_pool_sends_the_gradient_to_the_first_maximum():
    import numpy as np

    from benchmarks.numpy_reference import pool_backward, pool_forward

    x = np.array([[[[1.0, 5.0, 2.0, 2.0], [5.0, 0.0, 2.0, 1.0]]]])
    pooled, where = pool_forward(x)
    assert pooled.tolist() == [[[[5.0, 2.0]]]]
    grad = pool_backward(np.array([[[[1.0, 2.0]]]]), where)
    assert grad.tolist() == [[[[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]


def test_the_compiled_engine_gives_the_eager_engines_gradients_bit_for_bit():
    started, _ = start_engines(["minigrad", "minigrad-compiled"], 1, "modules", False)
    try:
        assert started["minigrad-compiled"].meta["engine"] == "minigrad-compiled"
        cases = (("chain", 30), ("mlp", "lecture_mlp"), ("mlp", "mnist_mlp"), ("cnn", None))
        for kind, argument in cases:
            for engine in started.values():
                engine.prepare("case", kind, argument)
            for _ in range(3):  # the first call records the step, the later ones replay it
                eager, compiled = (engine.run("case") for engine in started.values())
                assert all(map(lambda a, b: (a == b).all(), eager, compiled)), (kind, argument)
            for engine in started.values():
                engine.drop("case")
    finally:
        stop_engines(started)


def test_the_table_has_the_compiled_columns_only_when_it_ran():
    from benchmarks.report import markdown_table

    row = {"case": "2", "unit": "us", "threads": 1, "ratios": True, "target": "", "met": ""}
    without = markdown_table([dict(row, values={"numpy": 80.0, "minigrad": 160.0})])
    assert "minigrad-compiled" not in without and "| 2.00 |" in without
    values = {"numpy": 80.0, "minigrad": 160.0, "minigrad-compiled": 84.0}
    table = markdown_table([dict(row, values=values)])
    assert "| minigrad | minigrad-compiled | compiled/numpy | minigrad/numpy |" in table
    assert "| 160 | 84.0 | 1.05 | 2.00 |" in table


def test_the_table_has_the_jax_column_and_the_compiled_ratios_to_each_reference_that_ran():
    from benchmarks.report import markdown_table

    row = {"case": "2", "unit": "us", "threads": 1, "ratios": True, "target": "", "met": ""}
    values = {"numpy": 80.0, "torch": 400.0, "jax-jit": 100.0, "minigrad": 160.0}
    table = markdown_table([dict(row, values=dict(values, **{"minigrad-compiled": 84.0}))])
    assert (
        "| numpy | torch | jax-jit | minigrad | minigrad-compiled | compiled/numpy | "
        "compiled/torch | compiled/jax-jit | minigrad/numpy |" in table
    )
    assert "| 80.0 | 400 | 100 | 160 | 84.0 | 1.05 | 0.21 | 0.84 | 2.00 |" in table
    without_jax = markdown_table([dict(row, values=dict(values, **{"jax-jit": None}))])
    assert "jax" not in without_jax


def test_an_engine_that_does_not_import_leaves_its_column_empty_with_a_note():
    """jax is optional and never needed by the tests: without it (or with a python that lacks
    it) the jax-jit engine is noted as not installed; with it, it trains case 2 like NumPy."""
    started, notes = start_engines(["numpy", "jax-jit"], 1, "modules", system_malloc=False)
    try:
        if "jax-jit" not in started:
            assert notes == [notes[0]] and "jax-jit is not installed" in notes[0]
            pytest.skip("jax is not installed in this environment: only its absence was checked")
        engine = started["jax-jit"]
        assert engine.takes("mlp") and not engine.takes("conv")
        for name in started:
            started[name].prepare("lecture", "mlp", "lecture_mlp")
        jax_grads, numpy_grads = started["jax-jit"].run("lecture"), started["numpy"].run("lecture")
        assert compare_gradients(jax_grads, numpy_grads).ok
    finally:
        stop_engines(started)


def test_each_engine_may_run_under_an_interpreter_of_its_own():
    from benchmarks.__main__ import parse_arguments

    arguments = parse_arguments(["--torch-python=/opt/t/bin/python", "--jax-python=/j/python"])
    assert arguments.pythons == {"torch": "/opt/t/bin/python", "jax-jit": "/j/python"}
    assert parse_arguments([]).pythons == {}
    started, _ = start_engines(["numpy"], 1, "modules", False, {"numpy": sys.executable})
    stop_engines(started)


def test_the_first_compiled_call_is_measured_in_eager_steps():
    from benchmarks.first_call import first_call_in_eager_steps

    seconds, steps = first_call_in_eager_steps("lecture_mlp", eager_steps=3)
    assert seconds > 0 and steps > 0


def test_data_parallel_case_runs_tiny_under_mpi(loopback, monkeypatch):
    from benchmarks import data_parallel
    from benchmarks.cases import data_parallel as case
    from benchmarks.settings import Settings

    for name, value in loopback.items():
        monkeypatch.setenv(name, value)
    result = data_parallel.measure(workers=2, batch=16, repeat=2, number=1)
    assert len(result["step"]) == 2 and all(seconds > 0 for seconds in result["step"])
    assert len(result["allreduce"]) == 20 and result["bytes"] == 4 * (269_322 + 1)
    monkeypatch.setattr(data_parallel, "SIDE_BY_SIDE_DELAY", 1.0)
    alone = data_parallel.measure_side_by_side(batch=8, repeat=2, number=1)
    assert [len(copy["step"]) for copy in alone] == [2, 2] and alone[0]["allreduce"] == []
    rows = case({}, Settings(threads=1, repeat=2, long_repeat=1))
    per_batch = ["steps/s"] * 3 + ["x"]
    assert [row.unit for row in rows] == per_batch * 2 + ["ms", "%"]
    assert rows[7].met in ("yes", "NO") and rows[9].met in ("yes", "NO")
    assert case({}, Settings(threads=2, repeat=2, long_repeat=1)) == []  # runs at threads=1 only
