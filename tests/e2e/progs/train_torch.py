#!/usr/bin/env python3
# E2E test program "torch": a small PyTorch training loop (Debian's python3-torch, two intra-op
# threads, SGD on a 2-layer network, data drawn from a seeded generator every step), so a
# restart must bring back libtorch's threads, allocator and generator state.
# usage: train_torch.py STEPS DELAY_MS; prints "step N <the loss's 64 bits in hex>" per step,
# then "checksum <the parameters' sum's 64 bits>": equal outputs mean bit-identical training.
import struct
import sys
import time

import torch


def bits(x):
    return struct.pack(">d", float(x)).hex()


def main():
    steps, delay_ms = int(sys.argv[1]), int(sys.argv[2])
    if not (0 < steps <= 100000 and 0 <= delay_ms <= 10000):
        sys.exit("usage: train_torch.py STEPS(1..100000) DELAY_MS(0..10000)")
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1234)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    target = torch.randn(32, 1, generator=gen)
    for step in range(1, steps + 1):
        x = torch.randn(256, 32, generator=gen)
        y = x @ target + 0.1 * torch.randn(256, 1, generator=gen)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        print(f"step {step} {bits(loss.item())}", flush=True)
        time.sleep(delay_ms / 1000)
    total = sum(float(p.double().sum()) for p in model.parameters())
    print(f"checksum {bits(total)}", flush=True)


main()
