# -u'' + sqrt(u) = f with u = sin(pi x) (issue 15). Gauss-Newton starts from
# u = 0, where d sqrt(u)/du is +infinity: training must stop with exit
# code 1 and name the equation whose derivative is not finite, not report
# a NaN solution. Used by tests/solve.rs.
problem "Poisson 1-D with sqrt(u)"

domain   x in [0, 1]
unknown  u

equation -u_xx + sqrt(u) = pi^2*sin(pi*x) + sqrt(sin(pi*x))
bc       u = 0 on boundary

exact    u = sin(pi*x)

ansatz   rfm(features = 100, activation = tanh, scale = 4, seed = 0)
sample   interior = grid(128)
train    gauss_newton(iters = 30)
