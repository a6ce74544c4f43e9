#!/usr/bin/env python3
"""Reference values for everything in nn that the PyTorch fixtures do not cover.

Tool: CPython 3.11.7, standard library only (`math`), float64 throughout. Run
`python3 tests/reference/generate.py > tests/reference/values.json`.

Each formula below is written from PyTorch's documentation of the same operation (the
module named beside it), independently of nn's Rust code, so the test compares two
implementations of one specification. Inputs are fixed decimals chosen to exercise every
branch (both sides of relu-like kinks, both Huber regimes, Rprop sign flips, clipping
that does and does not trigger, a plateau that triggers twice).
"""

import json
import math

Z = [-3.0, -1.25, -0.5, -0.1, 0.0, 0.1, 0.5, 1.25, 3.0, 25.0]


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def activations():
    """torch.nn.{Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus, SiLU}, heaviside, sign."""
    k = math.sqrt(2.0 / math.pi)
    table = {
        "identity": (lambda z: z, lambda z: 1.0),
        "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1.0 - sigmoid(z))),
        "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
        "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
        "leaky_relu": (lambda z: z if z > 0 else 0.01 * z, lambda z: 1.0 if z > 0 else 0.01),
        "leaky_relu(0.2)": (lambda z: z if z > 0 else 0.2 * z, lambda z: 1.0 if z > 0 else 0.2),
        "elu": (lambda z: z if z > 0 else math.expm1(z), lambda z: 1.0 if z > 0 else math.exp(z)),
        "elu(0.5)": (lambda z: z if z > 0 else 0.5 * math.expm1(z), lambda z: 1.0 if z > 0 else 0.5 * math.exp(z)),
        "gelu": (
            lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))),
            lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))) + z * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi),
        ),
        "gelu_tanh": (
            lambda z: 0.5 * z * (1.0 + math.tanh(k * (z + 0.044715 * z ** 3))),
            lambda z: 0.5 * (1.0 + math.tanh(k * (z + 0.044715 * z ** 3)))
            + 0.5 * z * (1.0 - math.tanh(k * (z + 0.044715 * z ** 3)) ** 2) * k * (1.0 + 3.0 * 0.044715 * z * z),
        ),
        # Softplus(beta, threshold=20): linear above beta*z > 20.
        "softplus": (
            lambda z: z if z > 20.0 else math.log1p(math.exp(z)),
            lambda z: 1.0 if z > 20.0 else sigmoid(z),
        ),
        "softplus(2)": (
            lambda z: z if 2.0 * z > 20.0 else math.log1p(math.exp(2.0 * z)) / 2.0,
            lambda z: 1.0 if 2.0 * z > 20.0 else sigmoid(2.0 * z),
        ),
        "silu": (lambda z: z * sigmoid(z), lambda z: sigmoid(z) * (1.0 + z * (1.0 - sigmoid(z)))),
        "heaviside": (lambda z: 1.0 if z > 0 else (0.0 if z < 0 else 0.5), lambda z: 0.0),
        "sign": (lambda z: 1.0 if z > 0 else (-1.0 if z < 0 else 0.0), lambda z: 0.0),
    }
    return {name: {"z": Z, "f": [f(z) for z in Z], "df": [df(z) for z in Z]} for name, (f, df) in table.items()}


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def softmax_case():
    """torch.softmax and its vector-Jacobian product a ⊙ (g − <g, a>)."""
    z = [0.5, -1.0, 2.0, 0.0]
    g = [0.3, -0.2, 0.1, 0.4]
    a = softmax(z)
    dot = sum(x * y for x, y in zip(a, g))
    return {"z": z, "grad_output": g, "a": a, "grad_input": [x * (y - dot) for x, y in zip(a, g)]}


def losses():
    """torch.nn.{L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss}, mean reduction."""
    pred = [0.2, -1.5, 3.0, 0.75, -0.25, 2.0]  # N = 3 samples of K = 2
    target = [0.0, -0.5, 1.0, 0.75, 0.5, -1.0]
    n = len(pred)
    out = {}
    sign = lambda d: 1.0 if d > 0 else (-1.0 if d < 0 else 0.0)
    out["l1"] = {"value": sum(abs(p - y) for p, y in zip(pred, target)) / n,
                 "gradient": [sign(p - y) / n for p, y in zip(pred, target)]}
    for delta in (1.0, 0.5):
        value, grad = 0.0, []
        for p, y in zip(pred, target):
            d = p - y
            if abs(d) < delta:
                value += 0.5 * d * d
                grad.append(d / n)
            else:
                value += delta * (abs(d) - 0.5 * delta)
                grad.append(delta * sign(d) / n)
        out[f"huber({delta})"] = {"value": value / n, "gradient": grad}
    probabilities = [0.9, 0.2, 0.6, 0.05, 0.5, 0.999]
    labels = [1.0, 0.0, 0.3, 1.0, 0.5, 0.0]
    value = -sum(y * max(math.log(p), -100.0) + (1 - y) * max(math.log(1 - p), -100.0) for p, y in zip(probabilities, labels)) / n
    grad = [(p - y) / max(p * (1 - p), 1e-12) / n for p, y in zip(probabilities, labels)]
    out["bce"] = {"prediction": probabilities, "target": labels, "value": value, "gradient": grad}
    logits = [2.0, -1.0, 0.3, -4.0, 0.0, 30.0]
    value = sum(max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z))) for z, y in zip(logits, labels)) / n
    grad = [(sigmoid(z) - y) / n for z, y in zip(logits, labels)]
    out["bce_with_logits"] = {"prediction": logits, "target": labels, "value": value, "gradient": grad}
    scores = [1.0, 2.0, 0.5, -1.0, 3.0, 0.0, 0.2, 0.2, 0.2, 1000.0, 1001.0, 999.0]  # N = 4, K = 3
    classes = [1, 0, 2, 1]
    value, grad = 0.0, []
    for i, t in enumerate(classes):
        z = scores[3 * i:3 * i + 3]
        m = max(z)
        lse = m + math.log(sum(math.exp(v - m) for v in z))
        value += lse - z[t]
        a = softmax(z)
        grad += [(a[k] - (1.0 if k == t else 0.0)) / len(classes) for k in range(3)]
    out["softmax_cross_entropy"] = {"prediction": scores, "target": classes, "value": value / len(classes), "gradient": grad}
    out["l1"]["prediction"] = out["huber(1.0)"]["prediction"] = out["huber(0.5)"]["prediction"] = pred
    out["l1"]["target"] = out["huber(1.0)"]["target"] = out["huber(0.5)"]["target"] = target
    return out


P0 = [0.5, -0.3, 0.8, -1.2]
GRADIENTS = [  # one gradient per step; signs flip to exercise Rprop and momentum
    [0.1, -0.2, 0.05, 0.3],
    [0.12, 0.1, -0.04, 0.25],
    [-0.05, 0.15, -0.06, 0.2],
    [0.08, -0.05, 0.02, -0.1],
]


def sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD (docs' algorithm)."""
    p, b, trajectory = list(P0), None, []
    for t, g in enumerate(GRADIENTS):
        g = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        if momentum != 0:
            b = list(g) if t == 0 else [momentum * bi + (1 - dampening) * gi for bi, gi in zip(b, g)]
            g = [gi + momentum * bi for gi, bi in zip(g, b)] if nesterov else list(b)
        p = [pi - lr * gi for pi, gi in zip(p, g)]
        trajectory.append(p)
    return trajectory


def adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    """torch.optim.Adam / AdamW (docs' algorithms)."""
    b1, b2 = betas
    p, m, v, vmax, trajectory = list(P0), [0.0] * 4, [0.0] * 4, [0.0] * 4, []
    for t, g in enumerate(GRADIENTS, start=1):
        if decoupled:
            p = [pi * (1 - lr * weight_decay) for pi in p]
        else:
            g = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        vmax = [max(a, b) for a, b in zip(vmax, v)]
        used = vmax if amsgrad else v
        mhat = [mi / (1 - b1 ** t) for mi in m]
        vhat = [vi / (1 - b2 ** t) for vi in used]
        p = [pi - lr * mh / (math.sqrt(vh) + eps) for pi, mh, vh in zip(p, mhat, vhat)]
        trajectory.append(p)
    return trajectory


def rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop (docs' algorithm)."""
    p, s, gav, b, trajectory = list(P0), [0.0] * 4, [0.0] * 4, [0.0] * 4, []
    for g in GRADIENTS:
        g = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        s = [alpha * si + (1 - alpha) * gi * gi for si, gi in zip(s, g)]
        if centered:
            gav = [alpha * ai + (1 - alpha) * gi for ai, gi in zip(gav, g)]
            d = [math.sqrt(si - ai * ai) + eps for si, ai in zip(s, gav)]
        else:
            d = [math.sqrt(si) + eps for si in s]
        if momentum > 0:
            b = [momentum * bi + gi / di for bi, gi, di in zip(b, g, d)]
            p = [pi - lr * bi for pi, bi in zip(p, b)]
        else:
            p = [pi - lr * gi / di for pi, gi, di in zip(p, g, d)]
        trajectory.append(p)
    return trajectory


def rprop(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    """torch.optim.Rprop (docs' algorithm)."""
    eminus, eplus = etas
    smin, smax = step_sizes
    p, prev, step, trajectory = list(P0), [0.0] * 4, [lr] * 4, []
    for g in GRADIENTS:
        g = list(g)
        for i in range(4):
            if g[i] * prev[i] > 0:
                step[i] = min(step[i] * eplus, smax)
            elif g[i] * prev[i] < 0:
                step[i] = max(step[i] * eminus, smin)
                g[i] = 0.0
            p[i] -= (1.0 if g[i] > 0 else (-1.0 if g[i] < 0 else 0.0)) * step[i]
            prev[i] = g[i]
        trajectory.append(list(p))
    return trajectory


def optimizers():
    return {
        "initial": P0,
        "gradients": GRADIENTS,
        "sgd_nesterov_weight_decay": sgd(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        "sgd_dampening": sgd(0.1, momentum=0.8, dampening=0.3),
        "adam_amsgrad_l2": adam(0.05, weight_decay=0.1, amsgrad=True),
        "adamw_amsgrad": adam(0.05, weight_decay=0.1, amsgrad=True, decoupled=True),
        "rmsprop": rmsprop(0.01),
        "rmsprop_centered_momentum_weight_decay": rmsprop(0.01, momentum=0.9, centered=True, weight_decay=0.05),
        "rprop": rprop(lr=0.05),
    }


def clipping():
    """torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""
    g = [3.0, -4.0, 12.0]  # norm 13
    norm = math.sqrt(sum(x * x for x in g))
    coefficient = min(5.0 / (norm + 1e-6), 1.0)
    return {
        "gradient": g,
        "norm": norm,
        "by_norm_5": [x * coefficient for x in g],
        "by_norm_20": g,
        "by_value_3.5": [min(max(x, -3.5), 3.5) for x in g],
    }


def schedules():
    """torch.optim.lr_scheduler.{StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, SequentialLR, ReduceLROnPlateau}."""
    base, epochs = 0.1, 12
    step = [base * 0.5 ** (t // 3) for t in range(epochs)]
    exponential = [base * 0.9 ** t for t in range(epochs)]
    cosine = [0.001 + (base - 0.001) * (1 + math.cos(math.pi * min(t, 10) / 10)) / 2 for t in range(epochs)]
    warmup = [base * (0.25 + 0.75 * min(t, 4) / 4) for t in range(epochs)]
    warm_then_cosine = [warmup[t] if t < 4 else base * (1 + math.cos(math.pi * min(t - 4, 8) / 8)) / 2 for t in range(epochs)]
    step_times_exponential = [base * 0.5 ** (t // 3) * 0.9 ** t for t in range(epochs)]
    metrics = [1.0, 0.8, 0.8, 0.79995, 0.81, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7]
    lr, best, bad, plateau = base, math.inf, 0, [base]
    for metric in metrics[:-1]:  # the rate of epoch t + 1 sees the metric of epoch t
        if metric < best * (1 - 1e-4):
            best, bad = metric, 0
        else:
            bad += 1
        if bad > 2:
            lr, bad = max(lr * 0.5, 0.0), 0
        plateau.append(lr)
    return {
        "base": base,
        "step(3, 0.5)": step,
        "exponential(0.9)": exponential,
        "cosine(10, 0.001)": cosine,
        "warmup(4, 0.25)": warmup,
        "warmup(4, 0.25).then(4, cosine(8, 0))": warm_then_cosine,
        "step(3, 0.5).chain(exponential(0.9))": step_times_exponential,
        "plateau_metrics": metrics,
        "plateau(0.5, 2)": plateau,
    }


print(json.dumps({
    "generator": "CPython 3.11.7, standard library only; see tests/reference/generate.py",
    "activations": activations(),
    "softmax": softmax_case(),
    "losses": losses(),
    "optimizers": optimizers(),
    "clipping": clipping(),
    "schedules": schedules(),
}, indent=1))
