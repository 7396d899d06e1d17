# Periodic Poisson in 1-D with an exactly periodic ansatz:
#   -u'' = 4 pi^2 sin(2 pi x) on [0, 1], u periodic, u(0) = 0.
# Exact u = sin(2 pi x). Instead of `bc periodic in x` (a soft condition,
# see poisson1d_periodic.pde), x enters the features as cos(2 pi x) and
# sin(2 pi x), so every candidate u and all its derivatives agree at x = 0
# and x = 1 to rounding; only u(0) = 0 remains as a condition.
problem "Periodic Poisson 1-D, periodic ansatz"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x)
bc       u = 0 on x = 0

exact    u = sin(2*pi*x)

ansatz   rfm(features = 200, activation = tanh, scale = 2) periodic in x
sample   interior = grid(200), boundary = grid(1)
train    lstsq
