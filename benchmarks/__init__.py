"""Speed and memory benchmarks: the same steps in minigrad, hand-written NumPy and PyTorch.

    python -m benchmarks                 # threads 1 and 2, every case, medians and ratios
    python -m benchmarks --quick         # a smoke check in well under a minute
    python -m benchmarks --threads 1 --cases 1,3 --repeat 50

Each thread count runs in its own subprocess whose BLAS/OpenMP thread variables are set before
NumPy is imported, so every engine computes with the same number of threads. Inside it, all
engines share one process and the same float32 weights and data, and their repeats are
interleaved, so a slow moment of the machine hits every engine alike. Before timing, each case
checks that minigrad's (and PyTorch's) gradients equal the hand-written NumPy ones.

PyTorch is optional: without it the torch column is left empty with a note. The suite is not part
of the test run; `make bench` runs it.
"""
