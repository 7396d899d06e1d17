# Poisson equation in 1-D with homogeneous Dirichlet conditions:
#   -u'' = 4 pi^2 sin(2 pi x)  on (0, 1),   u(0) = u(1) = 0.
# Exact solution: u = sin(2 pi x).
problem "Poisson 1-D, Dirichlet"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x)
bc       u = 0 on x = 0, x = 1

exact    u = sin(2*pi*x)

# Linear problem: random features + least squares.
ansatz   rfm(features = 200, activation = tanh, scale = 2, seed = 0)
sample   interior = grid(128)
diff     ad
train    lstsq
