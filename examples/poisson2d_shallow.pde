# Poisson equation on the unit square, solved by a two-layer network
# trained with full-batch Adam (all weights trained), the boundary
# residual weighted by 10:
#   -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y)  in (0, 1)^2,   u = 0 on the boundary.
# Exact solution: u = sin(pi x) sin(pi y).
# `--train lbfgs --iters 3000` trains the same network with L-BFGS.
problem "Poisson 2-D, two-layer network"

domain   x in [0, 1], y in [0, 1]
unknown  u

equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc       u = 0 on boundary weight 10

exact    u = sin(pi*x)*sin(pi*y)

ansatz   shallow(width = 100, activation = tanh, seed = 0)
sample   interior = grid(32), boundary = grid(32)
train    adam(lr = 1e-3, epochs = 5000)
