# The Poisson problem of He et al. (AISTATS 2023), "Learning
# physics-informed neural networks without stacked back-propagation", at
# the paper's d = 100, in the authors' configuration (their code,
# LithiumDA/PINN-without-Stacked-BP, conf/possion): a tanh network with
# three hidden layers of 256 (their layer list [d, 256, 256, 256, 1]),
# 100 interior and 100 boundary points drawn fresh every step, boundary
# weight 300 on the squared loss (sqrt(300) on the residual, as pdec
# weights residuals), Adam at lr 1e-3 decaying linearly over 1000 steps, raw
# coordinates. Exact solution sin(sum(x))/n.
#   pdec solve examples/paper/long/poisson100d.pde
#   pdec solve examples/paper/long/poisson100d.pde --diff fd --h 1e-3
#   pdec solve examples/paper/long/poisson100d.pde --diff stein --sigma 1e-2 --samples 128
# (The authors' Stein runs use 1024 samples per point.) A long
# reproduction: minutes with `ad`, longer with `stein`, so CI checks this
# file but does not solve it.
problem "Poisson on [0, 1]^100 (Stein-smoothing paper)"

const    n = 100
domain   x in [0, 1]^n
unknown  u

equation lap(u) = -sin(sum(x))
bc       u = sin(sum(x))/n on boundary weight sqrt(300)

exact    u = sin(sum(x))/n

ansatz   mlp(width = 256, depth = 3, activation = tanh, seed = 0, normalize = false)
sample   interior = random(100, resample = 1), boundary = random(100, resample = 1)
diff     ad
train    adam(lr = 1e-3, epochs = 1000, schedule = linear)
