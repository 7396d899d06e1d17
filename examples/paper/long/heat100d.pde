# The heat problem of He et al. (AISTATS 2023) at the paper's d = 100:
# u_t = lap(u) in the unit ball times [0, 1], with the initial and sphere
# values of the exact solution norm2(x)/(2 d) + t, in the authors'
# configuration (their code, LithiumDA/PINN-without-Stacked-BP,
# conf/heat): a tanh network with three hidden layers of 256 (their
# "width 256, depth 4" counts the four linear layers), 50 points per set
# drawn fresh every step, initial and sphere weights 1000 on the squared
# loss (sqrt(1000) on the residual, as pdec weights residuals), Adam at lr 1e-3
# decaying linearly over 1000 steps, raw coordinates.
#   pdec solve examples/paper/long/heat100d.pde
#   pdec solve examples/paper/long/heat100d.pde --diff fd --h 1e-3
#   pdec solve examples/paper/long/heat100d.pde --diff stein --sigma 1e-2 --samples 128
# (The authors' Stein runs use 2048 samples per point.) A long
# reproduction (see poisson100d.pde): CI checks it, does not solve it.
problem "Heat in ball(100) x [0, 1] (Stein-smoothing paper)"

const    n = 100
domain   x in ball(n)
time     t in [0, 1]
unknown  u

equation u_t = lap(u)
bc       u = norm2(x)/(2*n) + t on boundary weight sqrt(1000)
initial  u = norm2(x)/(2*n) weight sqrt(1000)

exact    u = norm2(x)/(2*n) + t

ansatz   mlp(width = 256, depth = 3, activation = tanh, seed = 0, normalize = false)
sample   interior = random(50, resample = 1), boundary = random(50, resample = 1),
         initial = random(50, resample = 1)
diff     ad
train    adam(lr = 1e-3, epochs = 1000, schedule = linear)
