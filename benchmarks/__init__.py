"""Speed and memory benchmarks: the same steps in minigrad, hand-written NumPy and PyTorch.

    python -m benchmarks                 # threads 1 and 2, every case, medians and ratios
    python -m benchmarks --quick         # a smoke check in well under a minute
    python -m benchmarks --threads 1 --cases 1,3 --repeat 50

Every engine runs in a process of its own, one per thread count, whose BLAS/OpenMP thread
variables are set before NumPy is imported, so every engine computes with the same number of
threads and carries none of another engine's imports. The parent asks the engines for their
samples in turns, on the same float32 weights and data, so a slow moment of the machine hits every
engine alike. Before timing, each case checks that minigrad's (and PyTorch's) gradients equal the
hand-written NumPy ones.

PyTorch and jax (the `jax-jit` engine, cases 1-4) are optional: without one, its column is left
empty with a note; `--torch-python` and `--jax-python` run them from virtual environments of their
own. The suite is not part of the test run; `make bench` runs it.
"""
