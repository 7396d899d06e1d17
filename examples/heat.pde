# 1-D heat equation with zero Dirichlet conditions:
#   u_t - nu u_xx = 0  on (0, 1) x (0, 1],   u(0, t) = u(1, t) = 0,
#   u(x, 0) = sin(pi x).
# Exact solution: u = exp(-nu pi^2 t) sin(pi x), the decaying first mode.
problem "1-D heat equation"

domain   x in [0, 1]
time     t in [0, 1]
const    nu = 0.1
unknown  u

equation u_t - nu*u_xx = 0
bc       u = 0 on x = 0, x = 1
initial  u = sin(pi*x)

exact    u = exp(-nu*pi^2*t)*sin(pi*x)

ansatz   rfm(features = 800, activation = tanh, scale = 1.5)
sample   interior = grid(48), boundary = grid(48)
train    lstsq
