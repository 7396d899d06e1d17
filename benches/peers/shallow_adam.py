"""Two-layer tanh network trained by full-batch Adam on the 2-D Poisson problem, in JAX.

Peer of `pdec solve examples/poisson2d_shallow.pde --epochs 2000`:

    -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2,  u = 0 on the boundary,
    u(x) = sum_k a_k tanh(w_k . x + b_k),  width 100,  w, b and a trained,
    interior = grid(32) (1024 points), boundary = grid(32) (128 points),
    loss = mean_interior (-lap(u) - f)^2 + mean_boundary u^2,
    Glorot-uniform w and a, b = 0, Adam(lr 1e-3, 0.9, 0.999, 1e-8), float64 on the CPU.

The Laplacian is taken by autodiff: for each coordinate direction e_i, a
forward-over-forward second directional derivative (nested jax.jvp), vmapped
over the points. On this problem it was the fastest of the formulations
tried (trace of jax.hessian, jvp of jax.grad, jax.experimental.jet). One
epoch (loss, gradient, Adam update) is a single jax.jit-compiled function.

Every timed repeat starts from the same initial parameters, after warm-up
epochs that absorb compilation; the reported loss is the one after the last
timed run's epochs.

Setup:  python3 -m venv VENV && VENV/bin/pip install -r benches/peers/requirements.txt
Run:    VENV/bin/python benches/peers/shallow_adam.py [--epochs 2000] [--repeats 3]

Prints one line per repeat, then one JSON line {"peer": "jax", ...}.
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import points
from mlp_adam import adam_step

jax.config.update("jax_enable_x64", True)

WIDTH = 100
GRID = 32
SEED = 0
LR = 1e-3


def network(params, x):
    """u at one point x of shape (2,)."""
    w, b, a = params
    return a @ jnp.tanh(w @ x + b)


def laplacian(params, x):
    """sum_i d^2 u / dx_i^2, each term a nested jvp along e_i."""
    u = lambda x: network(params, x)

    def second(direction):
        first = lambda x: jax.jvp(u, (x,), (direction,))[1]
        return jax.jvp(first, (x,), (direction,))[1]

    return sum(second(e) for e in jnp.eye(x.shape[0]))


def loss(params, interior, boundary, f):
    residual = -jax.vmap(laplacian, (None, 0))(params, interior) - f
    u_boundary = jax.vmap(network, (None, 0))(params, boundary)
    return jnp.mean(residual**2) + jnp.mean(u_boundary**2)


@jax.jit
def epoch(state, interior, boundary, f):
    """One full-batch Adam step; returns the new state and the loss before it."""
    value, grad = jax.value_and_grad(loss)(state[0], interior, boundary, f)
    return adam_step(state, grad, LR), value


def initial_state():
    """Glorot-uniform w (fan 2 + 100) and a (fan 100 + 1), b = 0, zero moments."""
    rng = np.random.default_rng(SEED)
    s1, s2 = np.sqrt(6 / (2 + WIDTH)), np.sqrt(6 / (WIDTH + 1))
    params = (
        jnp.asarray(rng.uniform(-s1, s1, size=(WIDTH, 2))),
        jnp.zeros(WIDTH),
        jnp.asarray(rng.uniform(-s2, s2, size=WIDTH)),
    )
    zeros = jax.tree.map(jnp.zeros_like, params)
    return params, zeros, zeros, jnp.asarray(0, dtype=jnp.int64)


def train(epochs, data):
    state = initial_state()
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
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    interior = jnp.asarray(points.interior(GRID))
    boundary = jnp.asarray(points.boundary(GRID))
    f = 2 * jnp.pi**2 * jnp.sin(jnp.pi * interior[:, 0]) * jnp.sin(jnp.pi * interior[:, 1])
    data = (interior, boundary, f)
    print(f"jax {jax.__version__}, devices {jax.devices()}, "
          f"{len(interior)} interior + {len(boundary)} boundary points")

    train(args.warmup, data)
    per_epoch = []
    for r in range(args.repeats):
        start = time.perf_counter()
        state, value = train(args.epochs, data)
        per_epoch.append((time.perf_counter() - start) / args.epochs)
        print(f"  run {r + 1}: {per_epoch[-1] * 1e3:.4f} ms/epoch, loss {float(value):.6e}")

    print(json.dumps({
        "peer": "jax",
        "seconds_per_epoch": statistics.median(per_epoch),
        "epochs": args.epochs,
        "final_loss": float(value),
        "relative_l2": relative_l2(state[0]),
        "jax_version": jax.__version__,
    }))


if __name__ == "__main__":
    main()
