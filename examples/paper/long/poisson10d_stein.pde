# The Poisson problem of He et al. with their Gaussian-smoothed model (diff stein) (AISTATS 2023), "Learning
# physics-informed neural networks without stacked back-propagation", at
# d = 10 (the paper: d = 100 and 250). Exact solution sin(sum(x))/n.
#   pdec solve examples/paper/long/poisson10d_stein.pde --epochs 20
# A long reproduction: the full 2000 epochs take 10-40 minutes on 2 cores,
# so CI checks this file but does not solve it (examples/paper/long/).
problem "Poisson on [0, 1]^10, diff stein (Stein-smoothing paper)"

const    n = 10
domain   x in [0, 1]^n
unknown  u

equation lap(u) = -sin(sum(x))
bc       u = sin(sum(x))/n on boundary weight 100

exact    u = sin(sum(x))/n

# The paper's network sees the raw coordinates; the figures in
# docs/reproductions.md were measured so (normalize = false).
ansatz   mlp(width = 64, depth = 3, activation = tanh, seed = 0, normalize = false)
sample   interior = random(256, resample = 1), boundary = random(256, resample = 1)
diff     stein(sigma = 1e-2, samples = 128, estimator = antithetic, seed = 0)
train    adam(lr = 3e-3, epochs = 2000, schedule = linear)
