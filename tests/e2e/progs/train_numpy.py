#!/usr/bin/env python3
# E2E test program "numpy": least-squares regression by gradient descent with NumPy, whose
# matrix products run in OpenBLAS's threads (Debian's libopenblas0-pthread, two threads), so a
# restart must bring back OpenBLAS's thread pool and NumPy's random generator.
# usage: train_numpy.py STEPS DELAY_MS; prints "step N <the loss's 64 bits in hex>" per step,
# then "checksum <the weights' sum's 64 bits>": equal outputs mean bit-identical results.
import os
import struct
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import numpy as np  # noqa: E402  (after the thread count)


def bits(x):
    return struct.pack(">d", float(x)).hex()


def main():
    steps, delay_ms = int(sys.argv[1]), int(sys.argv[2])
    if not (0 < steps <= 100000 and 0 <= delay_ms <= 10000):
        sys.exit("usage: train_numpy.py STEPS(1..100000) DELAY_MS(0..10000)")
    rng = np.random.default_rng(1234)
    truth = rng.standard_normal((256, 8))
    w = np.zeros((256, 8))
    for step in range(1, steps + 1):
        x = rng.standard_normal((512, 256))  # large enough for OpenBLAS to use its threads
        y = x @ truth + 0.01 * rng.standard_normal((512, 8))
        err = x @ w - y
        w -= 0.5 / len(x) * (x.T @ err)
        print(f"step {step} {bits(np.mean(err * err))}", flush=True)
        time.sleep(delay_ms / 1000)
    print(f"checksum {bits(w.sum())}", flush=True)


main()
