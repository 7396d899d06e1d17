# Nonlinear diffusion in 1-D, the conductivity depends on the solution:
#   -d((1 + u^2) u_x, x) = f  on (0, 1),   u(0) = u(1) = 0,
# with f = pi^2 sin(pi x) (3 sin(pi x)^2 - 1) manufactured from the
# exact solution u = sin(pi x).
# A small fully trained network with finite-difference derivatives.
problem "Nonlinear diffusion 1-D"

domain   x in [0, 1]
unknown  u

let kappa = 1 + u^2
equation -d(kappa*u_x, x) = pi^2*sin(pi*x)*(3*sin(pi*x)^2 - 1)
bc       u = 0 on boundary weight 10

exact    u = sin(pi*x)

ansatz   shallow(width = 50, activation = tanh, seed = 1)
diff     fd(h = 1e-2, order = 2)
train    adam(lr = 2e-3, epochs = 10000)
sample   interior = grid(128)
