# Steady viscous Burgers equation, a standing shock:
#   u u_x - nu u_xx = 0  on (-1, 1),   u(-1) = tanh(1/(2 nu)),  u(1) = -tanh(1/(2 nu)).
# Exact solution: u = -tanh(x / (2 nu)), a front centred at x = 0; most of the jump lies in |x| < 4 nu.
# (For much smaller nu the front's position depends exponentially weakly on
# the boundary values, and the discrete problem becomes ill-conditioned.)
problem "Steady viscous Burgers, shock profile"

domain   x in [-1, 1]
const    nu = 0.25
unknown  u

equation u*u_x - nu*u_xx = 0
bc       u = tanh(1/(2*nu)) on x = -1
bc       u = -tanh(1/(2*nu)) on x = 1

exact    u = -tanh(x/(2*nu))

# Nonlinear in u: Gauss-Newton (Levenberg-Marquardt) on the output weights
# of the random features.
ansatz   rfm(features = 400, activation = tanh, scale = 3)
sample   interior = grid(256)
train    gauss_newton(iters = 60)
