# Poisson equation in 1-D with a Neumann and a Robin condition:
#   -u'' = (pi/2)^2 cos(pi x / 2)  on (0, 1),
#   u'(0) = 0                      (Neumann),
#   u'(1) + u(1) = -pi/2           (Robin).
# Exact solution: u = cos(pi x / 2).
problem "Poisson 1-D, Neumann and Robin conditions"

domain   x in [0, 1]
unknown  u

equation -u_xx = (pi/2)^2*cos(pi*x/2)
bc       u_x = 0 on x = 0
bc       u_x + u = -pi/2 on x = 1

exact    u = cos(pi*x/2)

ansatz   rfm(features = 200, scale = 2)
sample   interior = grid(128)
train    lstsq
