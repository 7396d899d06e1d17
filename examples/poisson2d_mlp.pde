# Poisson equation on the unit square, solved by a deep network (three
# hidden layers of 32 tanh neurons) trained with L-BFGS:
#   -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y)  in (0, 1)^2,   u = 0 on the boundary.
# Exact solution: u = sin(pi x) sin(pi y).
# `--train adam --epochs 5000` trains the same network with Adam (lr 1e-3).
problem "Poisson 2-D, deep network"

domain   x in [0, 1], y in [0, 1]
unknown  u

equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc       u = 0 on boundary

exact    u = sin(pi*x)*sin(pi*y)

ansatz   mlp(width = 32, depth = 3, activation = tanh, seed = 0)
sample   interior = grid(34), boundary = grid(34)
train    lbfgs(iters = 2000)
