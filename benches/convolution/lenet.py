"""PyTorch's LeNet-5 speed on this machine, beside `cargo bench --bench convolution`.

Run by hand (`pip install torch`; the tests never need it):

    python3 benches/convolution/lenet.py

The same network, sizes and work as the `lenet` benchmark: f32, an SGD step (forward,
softmax cross-entropy, backward, update) on 64 samples of 28×28, and inference (no_grad,
eval) on 256; on one thread and on two. Prints samples per second, the median of 20 runs
of 0.5 s each after a warm-up.
"""

import statistics
import time

import torch
from torch import nn


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def rate(work, samples, runs=20, seconds=0.5):
    """Median samples per second of `work` over `runs` timed stretches."""
    for _ in range(20):
        work()
    rates = []
    for _ in range(runs):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            work()
            count += 1
        rates.append(count * samples / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    torch.manual_seed(0)
    model = lenet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x_train, y_train = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    x_infer = torch.rand(256, 1, 28, 28)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x_train), y_train).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model(x_infer)

    print(f"torch {torch.__version__}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model.train()
        train = rate(step, 64)
        model.eval()
        inference = rate(infer, 256)
        print(f"{threads} thread(s): train/64 {train:.0f} samples/s, inference/256 {inference:.0f} samples/s")


if __name__ == "__main__":
    main()
