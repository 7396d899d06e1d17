# Helmholtz equation on [-1, 1]^2 with zero Dirichlet data:
#   -lap(u) - k^2 u = f,   u = 0 on the boundary,
# with f = (17 pi^2 - k^2) sin(pi x) sin(4 pi y) manufactured from the
# exact solution u = sin(pi x) sin(4 pi y) (k = 4 is not an eigenvalue).
problem "Helmholtz 2-D, manufactured solution"

domain   x in [-1, 1], y in [-1, 1]
const    k = 4
unknown  u

equation -lap(u) - k^2*u = (17*pi^2 - k^2)*sin(pi*x)*sin(4*pi*y)
bc       u = 0 on boundary

exact    u = sin(pi*x)*sin(4*pi*y)

ansatz   rfm(features = 2500, activation = tanh, scale = 2)
sample   interior = grid(70), boundary = grid(70)
train    lstsq
