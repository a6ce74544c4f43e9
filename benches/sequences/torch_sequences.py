"""PyTorch's speed on the `sequences` benchmarks, on this machine, beside
`cargo bench --bench sequences`.

Run by hand (`pip install torch`; the tests never need it):

    python3 benches/sequences/torch_sequences.py

The same networks, sizes and work, f32, one thread: streaming one step of a GRU/LSTM of 8
or 64 units and a dense H → 1 (inputs of width 1, the state carried between calls, no_grad);
an SGD step of backpropagation through time on 32 sequences of 64 steps of 16 features
(H = 64, a dense read-out at every step, MSE); the 2-layer transformer encoder (T = 32,
E = 64, 4 heads, pre-norm, relu feed-forward of 256, mean over the steps, 10 classes): an
SGD step on 32 and inference on 64. Prints the median of 20 timed stretches of 0.5 s.
"""

import statistics
import time

import torch
from torch import nn


def median_seconds(work, runs=20, seconds=0.5):
    """Median seconds per call of `work` over `runs` timed stretches."""
    for _ in range(20):
        work()
    times = []
    for _ in range(runs):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            work()
            calls += 1
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


class Stream(nn.Module):
    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = cell(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state):
        y, state = self.rnn(x, state)
        return self.head(y), state


class Sequence(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(16, 64, batch_first=True)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(64), nn.LayerNorm(64)
        self.attention = nn.MultiheadAttention(64, 4, batch_first=True)
        self.feed = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64))

    def forward(self, x):
        y = self.norm1(x)
        x = x + self.attention(y, y, y, need_weights=False)[0]
        return x + self.feed(self.norm2(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())
        self.norm = nn.LayerNorm(64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        return self.out(self.norm(self.blocks(x)).mean(dim=1))


def train_step(model, loss, x, y):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        loss(model(x), y).backward()
        optimizer.step()

    return step


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}, one thread")
    for name, cell, hidden in [("gru-8", nn.GRU, 8), ("gru-64", nn.GRU, 64), ("lstm-8", nn.LSTM, 8), ("lstm-64", nn.LSTM, 64)]:
        model = Stream(cell, hidden).eval()
        x, state = torch.randn(1, 1, 1), None

        def step():
            nonlocal state
            with torch.no_grad():
                _, state = model(x, state)

        print(f"stream {name:<8} {median_seconds(step) * 1e9:10.0f} ns per step")
    for name, cell in [("gru", nn.GRU), ("lstm", nn.LSTM)]:
        model = Sequence(cell)
        x, y = torch.randn(32, 64, 16), torch.randn(32, 64, 1)
        seconds = median_seconds(train_step(model, nn.MSELoss(), x, y))
        print(f"train  {name:<8} {1 / seconds:10.1f} batches per second")
    model = Encoder()
    x, y = torch.randn(64, 32, 64), torch.randint(0, 10, (64,))
    seconds = median_seconds(train_step(model, nn.CrossEntropyLoss(), x[:32], y[:32]))
    print(f"encoder train     {32 / seconds:10.0f} samples per second")
    model.eval()

    def infer():
        with torch.no_grad():
            model(x)

    print(f"encoder inference {64 / median_seconds(infer):10.0f} samples per second")


if __name__ == "__main__":
    main()
