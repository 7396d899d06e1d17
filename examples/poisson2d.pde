# Poisson equation on the unit square with zero Dirichlet data:
#   -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y)  in (0, 1)^2,   u = 0 on the boundary.
# Exact solution: u = sin(pi x) sin(pi y).
problem "Poisson 2-D, unit square"

domain   x in [0, 1], y in [0, 1]
unknown  u

equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc       u = 0 on boundary

exact    u = sin(pi*x)*sin(pi*y)

# Raw coordinates (normalize = false): this is the problem of the numpy
# peer in benches/peers (features w, b ~ uniform(-3, 3) on x in [0, 1]^2)
# and of the spectrum and least-squares figures in docs/reproductions.md.
# Normalized, the same scale doubles the features' frequency: the
# numerical rank goes from 635 to 1289 and the error from 2.4e-12 to
# 1.7e-12.
ansatz   rfm(features = 1600, activation = tanh, scale = 3, normalize = false)
sample   interior = grid(60), boundary = grid(60)
train    lstsq
