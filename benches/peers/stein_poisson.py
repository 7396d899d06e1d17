"""Gaussian-smoothed (Stein) PINN on the d-dimensional Poisson problem, in JAX.

Peer of `pdec solve examples/paper/long/poisson10d_stein.pde` (He et al.,
AISTATS 2023), the same estimator and the same setup:

    lap(u) = -sin(sum(x)) on [0, 1]^d,  u = sin(sum(x))/d on the boundary,
    f(x) = W_out z_depth + b_out,  z_l = tanh(W_l z_(l-1) + b_l),  z_0 = x,
    model u_s(x) = E f(x + delta), delta ~ N(0, sigma^2 I),
    interior: --interior uniform points, boundary: --boundary points split
    evenly over the 2d faces (pdec's `random(n)` on faces: n // 2d per
    face, the rest on faces chosen at random), both fresh every epoch,
    every point with its own fresh samples,
    loss = mean (lap u_s + sin(sum x))^2 + mean (W (u_s - g))^2
    (W = --weight, default 100: pdec's `weight` multiplies the boundary
    residual),
    Adam (0.9, 0.999, 1e-8) at lr 3e-3 with a linear decay
    lr (1 - (e - 1)/E), Glorot-normal W, b = 0, float64 on the CPU.

Estimators (--estimator), S = --samples:
    plain:      u_s = mean f(x + delta),
                lap u_s = mean (|delta|^2 - d sigma^2) f(x + delta) / sigma^4;
    antithetic: u_s = mean (f(x + delta) + f(x - delta)) / 2,
                lap u_s = mean (|delta|^2 - d sigma^2)
                          (f(x + delta) + f(x - delta) - 2 f(x)) / (2 sigma^4).
With --derivative ad the model is f itself and its Laplacian exact (the
jvp of the gradient along each unit vector; pdec's `diff ad`).
The parameter gradient goes through the network values (one
jax.value_and_grad of the whole loss); one epoch is one jax.jit function.
The error: relative L2 of u_s (estimated with --eval-samples samples, pairs
for antithetic, as pdec's `eval_samples`) on 20,000 uniform random points.

Run:    VENV/bin/python benches/peers/stein_poisson.py [--dims 10] [--samples 128]
            [--sigma 1e-2] [--estimator antithetic] [--epochs 300]

Prints the loss every 100 epochs, then one JSON line {"peer": "jax", ...}.
"""

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp

from mlp_adam import adam_step, initial_state

jax.config.update("jax_enable_x64", True)

WEIGHT = 100.0  # default --weight


def network(params, x):
    """f at points x of shape (..., d): shape (...)."""
    z = x
    for w, b in params[:-1]:
        z = jnp.tanh(z @ w.T + b)
    w, b = params[-1]
    return (z @ w.T + b)[..., 0]


def smoothed(params, x, delta, sigma, antithetic, laplacian):
    """u_s (or lap u_s) at points x (n, d) with samples delta (n, S, d)."""
    d = x.shape[-1]
    plus = network(params, x[:, None, :] + delta)
    if not laplacian:
        if antithetic:
            return jnp.mean(plus + network(params, x[:, None, :] - delta), axis=1) / 2
        return jnp.mean(plus, axis=1)
    a = (jnp.sum(delta**2, axis=-1) - d * sigma**2) / sigma**4
    if antithetic:
        minus = network(params, x[:, None, :] - delta)
        centre = network(params, x)[:, None]
        return jnp.mean(a * (plus + minus - 2 * centre), axis=1) / 2
    return jnp.mean(a * plus, axis=1)


def boundary_points(key, n, dims):
    """n points on the 2d faces of [0, 1]^d, as pdec's `random(n)` on faces:
    n // 2d on every face and one more on n % 2d faces chosen at random."""
    faces_count = 2 * dims
    k1, k2 = jax.random.split(key)
    extra = jax.random.permutation(k1, faces_count)[: n % faces_count]
    faces = jnp.concatenate([jnp.tile(jnp.arange(faces_count), n // faces_count), extra])
    x = jax.random.uniform(k2, (n, dims))
    coordinate, value = faces // 2, (faces % 2).astype(jnp.float64)
    mask = jax.nn.one_hot(coordinate, dims)
    return x * (1 - mask) + value[:, None] * mask


def laplacian_ad(params, x):
    """Exact Laplacian of f at one point: the jvp of the gradient along each e_j."""
    g = jax.grad(lambda x: network(params, x))
    basis = jnp.eye(x.shape[0])
    return jnp.sum(jax.vmap(lambda e: jax.jvp(g, (x,), (e,))[1] @ e)(basis))


def make_epoch(args):
    d, sigma, s = args.dims, args.sigma, args.samples
    antithetic = args.estimator == "antithetic"
    exact = args.derivative == "ad"

    def loss(params, interior, boundary, di, db):
        if exact:
            lap = jax.vmap(laplacian_ad, (None, 0))(params, interior)
            u = network(params, boundary)
        else:
            lap = smoothed(params, interior, di, sigma, antithetic, True)
            u = smoothed(params, boundary, db, sigma, antithetic, False)
        r = lap + jnp.sin(jnp.sum(interior, axis=1))
        g = jnp.sin(jnp.sum(boundary, axis=1)) / d
        return jnp.mean(r**2) + jnp.mean((args.weight * (u - g)) ** 2)

    @jax.jit
    def epoch(state, key, lr):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        interior = jax.random.uniform(k1, (args.interior, d))
        boundary = boundary_points(k2, args.boundary, d)
        di = sigma * jax.random.normal(k3, (interior.shape[0], s, d))
        db = sigma * jax.random.normal(k4, (boundary.shape[0], s, d))
        value, grad = jax.value_and_grad(loss)(state[0], interior, boundary, di, db)
        return adam_step(state, grad, lr), value

    return epoch


def relative_l2(params, args, key):
    d = args.dims
    antithetic = args.estimator == "antithetic"
    s = -(-args.eval_samples // 2) if antithetic else args.eval_samples
    k1, k2 = jax.random.split(key)
    test = jax.random.uniform(k1, (20000, d))
    values = []
    for start in range(0, 20000, 1000):
        x = test[start:start + 1000]
        delta = args.sigma * jax.random.normal(jax.random.fold_in(k2, start), (x.shape[0], s, d))
        if args.derivative == "ad":
            values.append(network(params, x))
        else:
            values.append(smoothed(params, x, delta, args.sigma, antithetic, False))
    u = jnp.concatenate(values)
    exact = jnp.sin(jnp.sum(test, axis=1)) / d
    return float(jnp.linalg.norm(u - exact) / jnp.linalg.norm(exact))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=10)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--interior", type=int, default=256)
    parser.add_argument("--boundary", type=int, default=256)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--sigma", type=float, default=1e-2)
    parser.add_argument("--estimator", choices=["plain", "antithetic"], default="antithetic")
    parser.add_argument("--eval-samples", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--derivative", choices=["stein", "ad"], default="stein",
                        help="ad: the exact Laplacian of f (jvp of grad), f itself on the boundary")
    parser.add_argument("--weight", type=float, default=WEIGHT,
                        help="factor of the boundary residual (pdec's `weight`)")
    args = parser.parse_args()

    print(f"jax {jax.__version__}, devices {jax.devices()}, d = {args.dims}, "
          f"mlp {args.width} x {args.depth}, "
          + ("exact Laplacian (ad), " if args.derivative == "ad" else
             f"{args.estimator} {args.samples} samples, sigma {args.sigma}, ")
          + f"{args.epochs} epochs")
    epoch = make_epoch(args)
    state = initial_state(args.width, args.depth, inputs=args.dims, seed=args.seed)
    key = jax.random.PRNGKey(args.seed)
    # Compile outside the timing (one epoch on a throwaway state).
    jax.block_until_ready(epoch(state, key, args.lr))
    start = time.perf_counter()
    for e in range(1, args.epochs + 1):
        lr = args.lr * (1 - (e - 1) / args.epochs)
        state, value = epoch(state, jax.random.fold_in(key, e), lr)
        if e % 100 == 0 or e == args.epochs:
            print(f"  epoch {e}: loss {float(value):.4e}")
    jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "peer": "jax",
        "dims": args.dims,
        "derivative": args.derivative,
        "estimator": args.estimator,
        "samples": args.samples,
        "sigma": args.sigma,
        "epochs": args.epochs,
        "seconds_per_epoch": seconds / args.epochs,
        "final_loss": float(value),
        "relative_l2": relative_l2(state[0], args, jax.random.PRNGKey(args.seed + 1)),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jax_version": jax.__version__,
    }))


if __name__ == "__main__":
    main()
