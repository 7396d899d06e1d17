# 1-D heat equation solved by a deep network in space-time (two hidden
# layers of 20 tanh neurons) trained with L-BFGS:
#   u_t - nu u_xx = 0  on (0, 1) x (0, 1],   u(0, t) = u(1, t) = 0,
#   u(x, 0) = sin(pi x).
# Exact solution: u = exp(-nu pi^2 t) sin(pi x), the decaying first mode.
problem "1-D heat equation, deep network"

domain   x in [0, 1]
time     t in [0, 1]
const    nu = 0.1
unknown  u

equation u_t - nu*u_xx = 0
bc       u = 0 on x = 0, x = 1
initial  u = sin(pi*x)

exact    u = exp(-nu*pi^2*t)*sin(pi*x)

ansatz   mlp(width = 20, depth = 2, activation = tanh, seed = 0)
sample   interior = grid(20), boundary = grid(20)
train    lbfgs(iters = 500)
