"""Deep tanh network (mlp) trained by full-batch Adam on the 2-D Poisson problem, in JAX.

Peer of `pdec solve examples/poisson2d_mlp.pde --train adam --epochs N --lr 1e-3`:

    -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2,  u = 0 on the boundary,
    u(x) = W_out z_depth + b_out,  z_l = tanh(W_l z_(l-1) + b_l),  z_0 = x,
    depth hidden layers of width neurons (default 32 x 3), all weights trained,
    interior = grid(34) (1156 points), boundary = grid(34) (136 points),
    loss = mean_interior (-lap(u) - f)^2 + mean_boundary u^2,
    Glorot-normal W, b = 0, Adam(lr 1e-3, 0.9, 0.999, 1e-8), float64 on the CPU.

The Laplacian is taken by autodiff, by default as the jvp of the gradient
(`--laplacian jvp-grad`: forward-over-reverse, the trace of the Hessian
from one jvp of jax.grad per coordinate), vmapped over the points;
`--laplacian nested-jvp` uses forward-over-forward (nested jax.jvp per
coordinate) instead, `--laplacian hessian` the trace of jax.hessian. One
epoch (loss, gradient, Adam update) is a single jax.jit-compiled function.

Every timed repeat starts from the same initial parameters, after warm-up
epochs that absorb compilation. The peak resident memory of the process
(ru_maxrss) is reported with the timings.

Run:    VENV/bin/python benches/peers/mlp_adam.py [--width 32] [--depth 3] [--epochs 2000] [--repeats 3]

Prints one line per repeat, then one JSON line {"peer": "jax", ...}.
"""

import argparse
import json
import resource
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import points

jax.config.update("jax_enable_x64", True)

GRID = 34
SEED = 0
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def network(params, x):
    """u at one point x of shape (2,)."""
    z = x
    for w, b in params[:-1]:
        z = jnp.tanh(w @ z + b)
    w, b = params[-1]
    return (w @ z + b)[0]


def laplacian_jvp_grad(params, x):
    """sum_i e_i . (d/dt grad u(x + t e_i)): one jvp of the gradient per coordinate."""
    g = jax.grad(lambda x: network(params, x))
    return sum(jax.jvp(g, (x,), (e,))[1] @ e for e in jnp.eye(x.shape[0]))


def laplacian_nested_jvp(params, x):
    """sum_i d^2 u / dx_i^2, each term a nested jvp along e_i."""
    u = lambda x: network(params, x)

    def second(direction):
        first = lambda x: jax.jvp(u, (x,), (direction,))[1]
        return jax.jvp(first, (x,), (direction,))[1]

    return sum(second(e) for e in jnp.eye(x.shape[0]))


def laplacian_hessian(params, x):
    return jnp.trace(jax.hessian(lambda x: network(params, x))(x))


LAPLACIANS = {
    "jvp-grad": laplacian_jvp_grad,
    "nested-jvp": laplacian_nested_jvp,
    "hessian": laplacian_hessian,
}


def make_epoch(laplacian):
    def loss(params, interior, boundary, f):
        residual = -jax.vmap(laplacian, (None, 0))(params, interior) - f
        u_boundary = jax.vmap(network, (None, 0))(params, boundary)
        return jnp.mean(residual**2) + jnp.mean(u_boundary**2)

    return adam_epoch(loss)


def adam_epoch(loss):
    """The jitted full-batch Adam step on loss(params, *data)."""

    @jax.jit
    def epoch(state, *data):
        """One full-batch Adam step; returns the new state and the loss before it."""
        value, grad = jax.value_and_grad(loss)(state[0], *data)
        return adam_step(state, grad, LR), value

    return epoch


def adam_step(state, grad, lr):
    """One Adam update (0.9, 0.999, 1e-8, bias-corrected) of state = (params, m, v, t)."""
    params, m, v, t = state
    t = t + 1
    m = jax.tree.map(lambda m, g: BETA1 * m + (1 - BETA1) * g, m, grad)
    v = jax.tree.map(lambda v, g: BETA2 * v + (1 - BETA2) * g * g, v, grad)
    c1, c2 = 1 - BETA1**t, 1 - BETA2**t
    params = jax.tree.map(
        lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, m, v
    )
    return params, m, v, t


def initial_state(width, depth, inputs=2, seed=SEED):
    """Glorot-normal W (std sqrt(2 / (fan_in + fan_out))), b = 0, zero moments."""
    rng = np.random.default_rng(seed)
    sizes = [inputs] + [width] * depth + [1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        std = np.sqrt(2 / (fan_in + fan_out))
        params.append((jnp.asarray(rng.normal(0, std, size=(fan_out, fan_in))), jnp.zeros(fan_out)))
    zeros = jax.tree.map(jnp.zeros_like, params)
    return params, zeros, zeros, jnp.asarray(0, dtype=jnp.int64)


def train(epoch, epochs, state, data):
    for _ in range(epochs):
        state, value = epoch(state, *data)
    jax.block_until_ready((state, value))
    return state, value


def relative_l2(params):
    test = jnp.asarray(points.test_grid())
    u = jax.vmap(network, (None, 0))(params, test)
    exact = jnp.sin(jnp.pi * test[:, 0]) * jnp.sin(jnp.pi * test[:, 1])
    return float(jnp.linalg.norm(u - exact) / jnp.linalg.norm(exact))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--laplacian", choices=sorted(LAPLACIANS), default="jvp-grad")
    args = parser.parse_args()

    interior = jnp.asarray(points.interior(GRID))
    boundary = jnp.asarray(points.boundary(GRID))
    f = 2 * jnp.pi**2 * jnp.sin(jnp.pi * interior[:, 0]) * jnp.sin(jnp.pi * interior[:, 1])
    data = (interior, boundary, f)
    print(f"jax {jax.__version__}, devices {jax.devices()}, mlp {args.width} x {args.depth}, "
          f"laplacian {args.laplacian}, {len(interior)} interior + {len(boundary)} boundary points")

    epoch = make_epoch(LAPLACIANS[args.laplacian])
    state0 = initial_state(args.width, args.depth)
    train(epoch, args.warmup, state0, data)
    per_epoch = []
    for r in range(args.repeats):
        start = time.perf_counter()
        state, value = train(epoch, args.epochs, state0, data)
        per_epoch.append((time.perf_counter() - start) / args.epochs)
        print(f"  run {r + 1}: {per_epoch[-1] * 1e3:.4f} ms/epoch, loss {float(value):.6e}")

    print(json.dumps({
        "peer": "jax",
        "laplacian": args.laplacian,
        "width": args.width,
        "depth": args.depth,
        "seconds_per_epoch": statistics.median(per_epoch),
        "epochs": args.epochs,
        "final_loss": float(value),
        "relative_l2": relative_l2(state[0]),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jax_version": jax.__version__,
    }))


if __name__ == "__main__":
    main()
