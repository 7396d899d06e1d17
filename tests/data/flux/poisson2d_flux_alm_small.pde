# Poisson equation on the unit square in flux form, trained with the
# augmented Lagrangian (Basir's remedies for PINN failure modes):
#   -(u_xx + u_yy) = (pi^2 - 1) e^x sin(pi y)  in (0, 1)^2,
#   u = e^x sin(pi y) on the boundary.
# `formulation flux` rewrites it as qu_x = u_x, qu_y = u_y,
# -(d(qu_x, x) + d(qu_y, y)) = f: one network with three outputs (u, qu_x,
# qu_y) sharing its hidden layer. `train alm` minimizes the mean square of
# the three equations subject to u = g at every boundary point, each with
# its own multiplier.
# Exact solution: u = e^x sin(pi y).
# (examples/poisson2d_flux_alm.pde on a 16 x 16 grid with 10,000 epochs:
# the budget of the flux + alm test in tests/flux.rs.)
problem "Poisson 2-D, flux form, augmented Lagrangian"

domain   x in [0, 1], y in [0, 1]
unknown  u

equation -lap(u) = (pi^2 - 1)*exp(x)*sin(pi*y)
bc       u = exp(x)*sin(pi*y) on boundary

exact    u = exp(x)*sin(pi*y)

formulation flux
ansatz   shallow(width = 50, activation = tanh, seed = 0)
sample   interior = grid(16), boundary = grid(16)
train    alm(lr = 1e-3, epochs = 10000, mu = 10, every = 100)
