"""Deep tanh network trained by full-batch Adam on the d-dimensional Poisson problem, in JAX.

Peer of the problem `benches/peers/highdim_compare.sh` writes for pdec (the
Poisson problem of the Stein-smoothing paper, He et al., AISTATS 2023):

    lap(u) = -sin(sum(x)) on [0, 1]^d,  u = sin(sum(x))/d on the boundary (weight 100),
    u(x) = W_out z_depth + b_out,  z_l = tanh(W_l z_(l-1) + b_l),  z_0 = x,
    interior: --points uniform points in the cube, boundary: --points uniform
    points on its faces (fixed for the run; NumPy seed 0),
    loss = mean_interior (lap u + sin(sum x))^2 + mean_boundary (100 (u - sin(sum x)/d))^2,
    Glorot-normal W, b = 0, Adam(lr 1e-3), float64 on the CPU,

with the Laplacian, by --diff:
- `ad`: jvp of grad (forward over reverse) along each unit vector, the d
  jvps vmapped, the trace of the Hessian; vmapped over the points;
- `fd`: the 2d + 1 point stencil, sum_j (u(x + h e_j) + u(x - h e_j) - 2 u(x)) / h^2,
  the network at all shifted points in one batch;
- `stein`: pdec's Stein estimators (`diff stein`): the model is the
  smoothed network u_s(x) = E u(x + delta), delta ~ N(0, sigma^2 I), with
  --samples fresh deltas per point and epoch (jax.random, a new key each
  epoch); antithetic (default): u_s = mean (f+ + f-)/2 and lap u_s = mean
  a(delta) (f+ + f- - 2 f(x)) / 2 with a = (|delta|^2 - d sigma^2) / sigma^4,
  f+- = u(x +- delta); plain: u_s = mean f+, lap u_s = mean a f+. Both the
  interior and the boundary rows use u_s, as pdec does; the network
  values at all shifted points of a set go through one batched pass.

One epoch (loss, gradient, Adam update) is one jax.jit function (the Adam
step of `mlp_adam.py`). Seconds per epoch over --epochs epochs after
--warmup epochs that absorb compilation; peak resident memory (ru_maxrss).

Run:    VENV/bin/python benches/peers/highdim_adam.py --dim 100 --diff ad [--width 256] [--depth 4] [--points 100] [--epochs 5]

Prints one JSON line {"peer": "jax", ...}.
"""

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from mlp_adam import adam_epoch, initial_state, network

jax.config.update("jax_enable_x64", True)

BOUNDARY_WEIGHT = 100.0


def cube_points(rng, n, d):
    return rng.uniform(0.0, 1.0, size=(n, d))


def face_points(rng, n, d):
    """Uniform on the 2d faces of [0, 1]^d: a face, then a point on it."""
    x = rng.uniform(0.0, 1.0, size=(n, d))
    face = rng.integers(0, 2 * d, size=n)
    x[np.arange(n), face // 2] = (face % 2).astype(float)
    return x


def laplacian_ad(params, x):
    """Trace of the Hessian: the jvp of the gradient along each e_j (vmapped over j)."""
    g = jax.grad(lambda x: network(params, x))
    basis = jnp.eye(x.shape[0])
    return jnp.sum(jax.vmap(lambda e: jax.jvp(g, (x,), (e,))[1] @ e)(basis))


def make_loss(kind, d, h, sigma, samples, antithetic):
    u = jax.vmap(network, (None, 0))

    def boundary_term(params, boundary, g, key):
        if kind == "stein":
            values = smoothed(params, boundary, key, value_only=True)
        else:
            values = u(params, boundary)
        return jnp.mean((BOUNDARY_WEIGHT * (values - g)) ** 2)

    def smoothed(params, x, key, value_only=False):
        """u_s and lap u_s at the points x (n x d) from samples shifted points each."""
        n = x.shape[0]
        delta = sigma * jax.random.normal(key, (n, samples, d))
        a = (jnp.sum(delta**2, axis=-1) - d * sigma**2) / sigma**4
        plus = u(params, (x[:, None, :] + delta).reshape(-1, d)).reshape(n, samples)
        if antithetic:
            minus = u(params, (x[:, None, :] - delta).reshape(-1, d)).reshape(n, samples)
            value = jnp.mean((plus + minus) / 2, axis=1)
            if value_only:
                return value
            centre = u(params, x)
            lap = jnp.mean(a * (plus + minus - 2 * centre[:, None]) / 2, axis=1)
        else:
            value = jnp.mean(plus, axis=1)
            if value_only:
                return value
            lap = jnp.mean(a * plus, axis=1)
        return lap

    def laplacian(params, x, key):
        if kind == "ad":
            return jax.vmap(laplacian_ad, (None, 0))(params, x)
        if kind == "fd":
            n = x.shape[0]
            shifts = h * jnp.eye(d)
            plus = u(params, (x[:, None, :] + shifts).reshape(-1, d)).reshape(n, d)
            minus = u(params, (x[:, None, :] - shifts).reshape(-1, d)).reshape(n, d)
            centre = u(params, x)
            return jnp.sum(plus + minus - 2 * centre[:, None], axis=1) / h**2
        return smoothed(params, x, key)

    def loss(params, interior, boundary, f, g, key):
        k1, k2 = jax.random.split(key)
        residual = laplacian(params, interior, k1) - f
        return jnp.mean(residual**2) + boundary_term(params, boundary, g, k2)

    return loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--diff", choices=["ad", "fd", "stein"], default="ad")
    parser.add_argument("--h", type=float, default=1e-3)
    parser.add_argument("--sigma", type=float, default=1e-2)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--estimator", choices=["antithetic", "plain"], default="antithetic")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    d = args.dim

    rng = np.random.default_rng(0)
    interior = jnp.asarray(cube_points(rng, args.points, d))
    boundary = jnp.asarray(face_points(rng, args.points, d))
    f = -jnp.sin(jnp.sum(interior, axis=1))
    g = jnp.sin(jnp.sum(boundary, axis=1)) / d

    loss = make_loss(args.diff, d, args.h, args.sigma, args.samples,
                     args.estimator == "antithetic")
    epoch = adam_epoch(loss)
    state = initial_state(args.width, args.depth, inputs=d)
    key = jax.random.PRNGKey(0)

    def run(state, key, epochs):
        for _ in range(epochs):
            key, sub = jax.random.split(key)
            state, value = epoch(state, interior, boundary, f, g, sub)
        jax.block_until_ready((state, value))
        return state, key, value

    state, key, _ = run(state, key, args.warmup)
    start = time.perf_counter()
    state, key, value = run(state, key, args.epochs)
    per_epoch = (time.perf_counter() - start) / args.epochs

    print(json.dumps({
        "peer": "jax",
        "diff": args.diff,
        "estimator": args.estimator if args.diff == "stein" else None,
        "dim": d,
        "width": args.width,
        "depth": args.depth,
        "points": args.points,
        "seconds_per_epoch": per_epoch,
        "epochs": args.epochs,
        "final_loss": float(value),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jax_version": jax.__version__,
    }))


if __name__ == "__main__":
    main()
