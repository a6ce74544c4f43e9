"""Writes tests/reference/spectral_norm.json: PyTorch's torch.nn.utils.spectral_norm on a
Linear layer, in float64, as nn's `dense(…, norm = spectral)` must reproduce it.

Network: Linear(4, 3) with spectral_norm(n_power_iterations = k) -> tanh -> Linear(3, 2);
MSE; SGD lr 0.1; 3 steps in training mode (each forward runs k power iterations on
weight_u / weight_v), then an eval-mode forward (no iteration). Recorded: the initial
state, and per step the loss and gradients (before the step), the parameters and the
vectors u, v (after it); then the eval output. k = 1 (PyTorch's default) and k = 2.

Needs PyTorch (pip install torch); tests only read the JSON. Run from the repository root:
python3 tests/reference/spectral_norm.py
"""

import json

import torch

torch.set_default_dtype(torch.float64)
torch.use_deterministic_algorithms(True)


def rounded(tensor):
    return torch.round(tensor * 1e4) / 1e4


def case(iterations, seed):
    torch.manual_seed(seed)
    first = torch.nn.Linear(4, 3)
    second = torch.nn.Linear(3, 2)
    with torch.no_grad():
        for layer in (first, second):
            layer.weight.copy_(rounded(layer.weight))
            layer.bias.copy_(rounded(layer.bias))
    first = torch.nn.utils.spectral_norm(first, n_power_iterations=iterations)
    with torch.no_grad():
        first.weight_u.copy_(torch.nn.functional.normalize(rounded(torch.randn(3)), dim=0))
        first.weight_v.copy_(torch.nn.functional.normalize(rounded(torch.randn(4)), dim=0))
    inputs = rounded(torch.randn(5, 4))
    targets = rounded(torch.randn(5, 2))

    def forward(x):
        return second(torch.tanh(first(x)))

    def parameters():
        return [first.weight_orig, first.bias, second.weight, second.bias]

    def flat(tensors):
        return [float(v) for t in tensors for v in t.detach().reshape(-1)]

    record = {
        "n_power_iterations": iterations,
        "inputs": inputs.tolist(),
        "targets": targets.tolist(),
        "init": {"params": flat(parameters()), "buffers": flat([first.weight_u, first.weight_v])},
        "steps": [],
    }
    optimizer = torch.optim.SGD(parameters(), lr=0.1)
    for step in range(1, 4):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(inputs), targets)
        loss.backward()
        grads = flat([p.grad for p in parameters()])
        optimizer.step()
        record["steps"].append({
            "step": step,
            "loss": float(loss.detach()),
            "grads": grads,
            "params": flat(parameters()),
            "buffers": flat([first.weight_u, first.weight_v]),
        })
    first.eval()
    second.eval()
    with torch.no_grad():
        record["eval_output"] = forward(inputs).reshape(-1).tolist()
    return record


if __name__ == "__main__":
    cases = {"torch_version": torch.__version__, "cases": [case(1, 3), case(2, 4)]}
    with open("tests/reference/spectral_norm.json", "w") as file:
        json.dump(cases, file, indent=1)
