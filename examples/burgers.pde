# Steady viscous Burgers equation, a standing shock:
#   u u_x - nu u_xx = 0  on (-1, 1),   u(-1) = tanh(1/(2 nu)),  u(1) = -tanh(1/(2 nu)).
# Exact solution: u = -tanh(x / (2 nu)); with nu = 0.1 the shock has width ~0.2.
problem "Steady viscous Burgers, shock profile"

domain   x in [-1, 1]
const    nu = 0.1
unknown  u

equation u*u_x - nu*u_xx = 0
bc       u = tanh(1/(2*nu)) on x = -1
bc       u = -tanh(1/(2*nu)) on x = 1

exact    u = -tanh(x/(2*nu))

# Nonlinear in u: Gauss-Newton on the output weights of the random features.
ansatz   rfm(features = 400, activation = tanh, scale = 10)
sample   interior = grid(256)
train    gauss_newton(iters = 30)
