#!/usr/bin/env python3
"""A small "training" loop in pure Python: fits y = 3x - 2 + noise by stochastic gradient descent
and prints the loss after every epoch. Deterministic (seeded), so a run that was checkpointed,
killed and restarted must print exactly the lines of an uninterrupted one.
Usage: train.py [EPOCHS [SAMPLES [SECONDS_PER_EPOCH]]]"""
import random
import sys
import time

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2

rng = random.Random(42)
data = [(x, 3.0 * x - 2.0 + rng.gauss(0.0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(samples))]
w, b, lr = 0.0, 0.0, 0.01
for epoch in range(1, epochs + 1):
    rng.shuffle(data)
    loss = 0.0
    for x, y in data:
        err = w * x + b - y
        loss += err * err
        w -= lr * err * x
        b -= lr * err
    print(f"epoch {epoch} loss {loss / samples:.9f} w {w:.9f} b {b:.9f}", flush=True)
    time.sleep(pause)
