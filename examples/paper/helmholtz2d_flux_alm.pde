# The Helmholtz problem of examples/helmholtz2d.pde (Basir's Helmholtz
# benchmark: u = sin(pi x) sin(4 pi y) on [-1, 1]^2, k = 4) in flux form,
# a two-layer network trained with the augmented Lagrangian, on a 32 x 32
# grid (the flux/alm reproduction in docs/reproductions.md).
# With this network and budget no variant converges (relative L2 errors
# above 1; docs/reproductions.md).
problem "Helmholtz 2-D, flux form, augmented Lagrangian"

domain   x in [-1, 1], y in [-1, 1]
const    k = 4
unknown  u

equation -lap(u) - k^2*u = (17*pi^2 - k^2)*sin(pi*x)*sin(4*pi*y)
bc       u = 0 on boundary

exact    u = sin(pi*x)*sin(4*pi*y)

formulation flux
ansatz   shallow(width = 50, activation = tanh, seed = 0)
sample   interior = grid(32), boundary = grid(32)
train    alm(lr = 1e-3, epochs = 5000, mu = 10, every = 100)
