# 1-D wave equation, a standing wave on a string fixed at both ends:
#   u_tt - c^2 u_xx = 0  on (0, 1) x (0, 1],   u(0, t) = u(1, t) = 0,
#   u(x, 0) = sin(pi x),  u_t(x, 0) = 0.
# Exact solution: u = sin(pi x) cos(c pi t), with wave speed c = 2.
problem "1-D wave equation"

domain   x in [0, 1]
time     t in [0, 1]
const    c = 2
unknown  u

equation u_tt - c^2*u_xx = 0
bc       u = 0 on boundary
initial  u = sin(pi*x)
initial  u_t = 0

exact    u = sin(pi*x)*cos(c*pi*t)

# Space-time random features; all conditions are linear, so least squares.
ansatz   rfm(features = 1200, activation = tanh, scale = 2)
sample   interior = grid(50), boundary = grid(50)
train    lstsq
