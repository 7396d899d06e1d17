# -u'' + |u| = f with u = sin(pi x) >= 0 (issue 15). Gauss-Newton starts
# from u = 0, where the derivative of abs was once generated as u/|u| and
# evaluated to NaN. Used by tests/solve.rs.
problem "Poisson 1-D with |u|"

domain   x in [0, 1]
unknown  u

equation -u_xx + abs(u) = pi^2*sin(pi*x) + sin(pi*x)
bc       u = 0 on boundary

exact    u = sin(pi*x)

ansatz   rfm(features = 100, activation = tanh, scale = 4, seed = 0)
sample   interior = grid(128)
train    gauss_newton(iters = 30)
