"""The same workloads in PyTorch and JAX, for ``jitnet bench`` when they are installed.

Neither is a dependency: each builder returns None when its library cannot
be imported. Networks, data, optimizer settings and decay match
``jitnet.workloads``: Adam with ``lr_t = lr / (1 + decay * t)`` and epsilon
1e-7, ReLU hidden layers, softmax cross-entropy.
"""
import numpy as np

from . import workloads as W


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_net(torch, sizes, lr):
    torch.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    return net, torch.optim.Adam(net.parameters(), lr=lr, eps=1e-7)


def _torch_step(torch, net, opt, X, y, lr, decay, t):
    for group in opt.param_groups:
        group["lr"] = lr / (1 + decay * t)
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(net(X), y)
    loss.backward()
    opt.step()


def torch_spiral(epochs):
    """PyTorch eager, one step per epoch on the spiral; None without torch."""
    torch = _torch()
    if torch is None:
        return None
    torch.set_num_threads(1)  # "one core each", as the issue measured
    X, y = W.spiral()
    X, y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    net, opt = _torch_net(torch, (2, 64, 3), W.SPIRAL_LR)
    _torch_step(torch, net, opt, X, y, W.SPIRAL_LR, W.SPIRAL_DECAY, 0)

    def run():
        for t in range(epochs):
            _torch_step(torch, net, opt, X, y, W.SPIRAL_LR, W.SPIRAL_DECAY, t)
    return run


def torch_wide(threads, samples=W.WIDE_SAMPLES):
    """PyTorch eager, one epoch of the 784-128-128-10 network; None without torch."""
    torch = _torch()
    if torch is None:
        return None
    torch.set_num_threads(threads)
    X, y = W.fashion_like(samples)
    X, y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    net, opt = _torch_net(torch, W.WIDE_SHAPE, W.WIDE_LR)
    batch_size = W.WIDE_BATCH
    _torch_step(torch, net, opt, X[:batch_size], y[:batch_size], W.WIDE_LR, W.WIDE_DECAY, 0)

    def run():
        for t, start in enumerate(range(0, samples, batch_size)):
            _torch_step(torch, net, opt, X[start:start + batch_size],
                        y[start:start + batch_size], W.WIDE_LR, W.WIDE_DECAY, t)
    return run


def jax_spiral(epochs):
    """JAX ``jit`` + ``lax.scan`` over all epochs of the spiral; None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    X, y = W.spiral()
    X, y = jnp.asarray(X), jnp.asarray(y.astype(np.int32))
    rng = np.random.default_rng(0)
    params = [jnp.asarray(0.01 * rng.standard_normal((2, 64)), jnp.float32),
              jnp.zeros(64, jnp.float32),
              jnp.asarray(0.01 * rng.standard_normal((64, 3)), jnp.float32),
              jnp.zeros(3, jnp.float32)]

    def loss_fn(p):
        hidden = jnp.maximum(0, X @ p[0] + p[1])
        logits = hidden @ p[2] + p[3]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    grad = jax.grad(loss_fn)
    b1, b2, eps = 0.9, 0.999, 1e-7

    def step(state, t):
        p, m, v = state
        g = grad(p)
        lr = W.SPIRAL_LR / (1 + W.SPIRAL_DECAY * t)
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        c1, c2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
        p = [pi - lr * (mi / c1) / (jnp.sqrt(vi / c2) + eps)
             for pi, mi, vi in zip(p, m, v)]
        return (p, m, v), None

    @jax.jit
    def train(p):
        zeros = [jnp.zeros_like(pi) for pi in p]
        (p, _, _), _ = jax.lax.scan(step, (p, zeros, zeros),
                                    jnp.arange(epochs, dtype=jnp.float32))
        return p

    jax.block_until_ready(train(params))  # compile
    return lambda: jax.block_until_ready(train(params))
