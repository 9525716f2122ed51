#!/usr/bin/env python3
# E2E test program "script" (pure python3, standard library only): keeps its state in lists,
# dicts, an object and suspended generators (a random source and a running-window pipeline),
# so a restart must bring back the interpreter's heap and frames.
# usage: script.py STEPS DELAY_MS; prints "step N <hash>" per step, then "checksum H".
import sys
import time

MASK = (1 << 64) - 1
MAX_STEPS = 100000
MAX_DELAY_MS = 10000


def mix(h, v):
    h ^= (v + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)) & MASK
    h ^= h >> 31
    h = (h * 0xBF58476D1CE4E5B9) & MASK
    return h ^ (h >> 27)


def lcg(seed):
    """Endless pseudo-random numbers; its state lives in the suspended frame."""
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        yield x >> 11


def window_sums(width):
    """Running sums over the last `width` values sent in (a generator with a list inside)."""
    win = []
    total = 0
    value = yield None
    while True:
        win.append(value)
        total += value
        if len(win) > width:
            total -= win.pop(0)
        value = yield total & MASK


class Ledger:
    def __init__(self):
        self.accounts = {}
        self.history = []

    def post(self, key, amount):
        self.accounts[key] = (self.accounts.get(key, 0) * 31 + amount) & MASK
        self.history.append((key, amount))
        if len(self.history) > 64:
            del self.history[:16]

    def digest(self):
        h = len(self.accounts)
        for key in sorted(self.accounts):
            h = mix(h, self.accounts[key])
            h = mix(h, sum(map(ord, key)))
        for key, amount in self.history:
            h = mix(h, amount ^ len(key))
        return h


def parse(arg, lo, hi, what):
    try:
        v = int(arg)
    except ValueError:
        v = None
    if v is None or v < lo or v > hi:
        sys.stderr.write(f"script.py: {what} must be a number in [{lo}, {hi}], got '{arg}'\n")
        sys.exit(2)
    return v


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: script.py STEPS DELAY_MS\n")
        return 2
    steps = parse(argv[1], 1, MAX_STEPS, "STEPS")
    delay = parse(argv[2], 0, MAX_DELAY_MS, "DELAY_MS")

    rng = lcg(20240601)
    pipe = window_sums(37)
    next(pipe)
    ledger = Ledger()
    matrix = [[(r * 8 + c) for c in range(8)] for r in range(8)]
    seen = {}
    total = 0
    for step in range(1, steps + 1):
        vals = [next(rng) for _ in range(300)]
        for v in vals:
            ledger.post(f"acct{v % 97:02d}", v & 0xFFFF)
            seen[v % 1009] = seen.get(v % 1009, 0) + 1
        wsum = pipe.send(sum(vals) & MASK)
        r, c = step % 8, (step * 3) % 8
        matrix[r][c] = (matrix[r][c] * 6364136223846793005 + step) & MASK
        matrix = [list(row) for row in zip(*matrix)]  # transpose: rebuilds every list
        h = mix(total, step)
        h = mix(h, wsum)
        h = mix(h, ledger.digest())
        h = mix(h, len(seen))
        h = mix(h, sum(k * n for k, n in seen.items()) & MASK)
        for row in matrix:
            for x in row:
                h = mix(h, x)
        total = h
        print(f"step {step} {h:016x}", flush=True)
        time.sleep(delay / 1000.0)
    print(f"checksum {mix(total, next(rng)):016x}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
