# A predator-prey-like system where u = v = 0 solves both equations, so
# only the initial values drive the solution (issue 15: Levenberg-Marquardt
# from u = 0 rejected its first 9 steps with lambda = 1e-3 * 4^k):
#   u' = u v,  v' = -v^2  on (0, 2),  u(0) = v(0) = 1,
# exact solution u = 1 + s, v = 1/(1 + s). Used by tests/solve.rs.
problem "Predator-prey-like system"

domain   s in [0, 2]
unknown  u, v

equation u_s - u*v = 0
equation v_s + v^2 = 0
bc       u = 1 on s = 0
bc       v = 1 on s = 0

exact    u = 1 + s
exact    v = 1/(1 + s)

ansatz   rfm(features = 100, activation = tanh, scale = 2, seed = 0)
sample   interior = grid(128)
train    gauss_newton(iters = 40)
