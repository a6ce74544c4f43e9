"""PyTorch's speed on W3 and W4 and RTNeural's tanh shapes, beside `cargo bench --bench networks`.

Run by hand (`pip install torch`; the tests never need it):

    python3 benches/networks/torch_dense.py

The same networks and work as the `W3` and `W4` benchmarks: f32, an SGD step (forward,
softmax cross-entropy, backward, update; learning rate 0.1) on 64 samples, and inference
(no_grad, eval) on 256; on one thread and on two. Then the 1 → W tanh → W tanh → 1 networks,
one sample per call, one thread. Prints samples per second (the tanh shapes: ns per
sample), the median of 20 runs of 0.5 s each after a warm-up.
"""

import statistics
import time

import torch
from torch import nn


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


def mlp(sizes):
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def dense(name, sizes):
    torch.manual_seed(0)
    model = mlp(sizes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    x_train, y_train = torch.rand(64, sizes[0]), torch.randint(0, sizes[-1], (64,))
    x_infer = torch.rand(256, sizes[0])

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x_train), y_train).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model(x_infer)

    for threads in (1, 2):
        torch.set_num_threads(threads)
        model.train()
        train = rate(step, 64)
        model.eval()
        inference = rate(infer, 256)
        print(f"{name} {threads} thread(s): train/64 {train:,.0f}/s, inference/256 {inference:,.0f}/s")


def tanh_shapes():
    torch.set_num_threads(1)
    for width in (4, 8, 16, 32, 64):
        model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                              nn.Linear(width, 1)).eval()
        x = torch.rand(1, 1)

        def forward(model=model, x=x):
            with torch.no_grad():
                model(x)

        print(f"1-{width}-{width}-1 tanh: {1e9 / rate(forward, 1):,.0f} ns per sample")


def main():
    print(f"torch {torch.__version__}")
    dense("W3", [784, 128, 10])
    dense("W4", [784, 512, 512, 10])
    tanh_shapes()


if __name__ == "__main__":
    main()
