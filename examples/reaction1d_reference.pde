# A nonlinear reaction-diffusion problem with no closed-form solution,
# scored against a reference table:
#   -u'' + 10 u^3 = 10 sin(pi x) + 1 on (0, 1),  u(0) = 0, u(1) = 1.
# The table examples/data/reaction1d_fine.csv is the solution.csv of a
# fine solve (examples/data/reaction1d_fine.pde: 400 features, 256
# points; two seeds of it differ by 3e-9 relative L2). This file solves
# with 60 features and 64 points and reports its error at the table's
# 101 points.
problem "Reaction-diffusion 1-D against reference data"

domain    x in [0, 1]
unknown   u

equation  -u_xx + 10*u^3 = 10*sin(pi*x) + 1
bc        u = 0 on x = 0
bc        u = 1 on x = 1

reference u = data("data/reaction1d_fine.csv")

ansatz    rfm(features = 60, activation = tanh, scale = 3)
sample    interior = grid(64)
train     gauss_newton(iters = 40)
