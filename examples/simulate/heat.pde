# Linear heat equation with zero Dirichlet data, for `pdec simulate`:
#   u_t = u_xx  on (0, 1) x (0, 0.1],   u(0, t) = u(1, t) = 0,
#   u(x, 0) = sin(pi x).
# Exact solution: u = exp(-pi^2 t) sin(pi x).
# Phi(s) = s, m = 1: the explicit step is u <- u - tau K^T K u.
problem "1-D heat equation (schemes)"

domain   x in [0, 1]
time     t in [0, 0.1]
unknown  u

equation u_t = u_xx
bc       u = 0 on x = 0, x = 1
initial  u = sin(pi*x)

exact    u = exp(-pi^2*t)*sin(pi*x)

scheme   explicit(grid = 101)
