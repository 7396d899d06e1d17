# Helmholtz on a square with a circular hole (manufactured solution):
#   -lap(u) - k^2 u = f in [-1, 1]^2 minus the disk of radius 1/2,
#   u = g on the square's sides, dn(u) = h on the hole's rim,
# exact u = sin(pi x) sin(pi y), f = (2 pi^2 - k^2) u. On the rim the
# domain's outward normal points into the hole, n = -(x, y)/0.5, so
# h = -2 (x u_x + y u_y).
problem "Helmholtz on a square with a hole, Neumann on the hole"

const    k = 3
shape    outer = rect([-1, 1], [-1, 1])
shape    hole = disk([0, 0], 0.5)
domain   (x, y) in outer - hole
unknown  u

equation -lap(u) - k^2*u = (2*pi^2 - k^2)*sin(pi*x)*sin(pi*y)
bc       u = sin(pi*x)*sin(pi*y) on outer
bc       dn(u) = -2*pi*(x*cos(pi*x)*sin(pi*y) + y*sin(pi*x)*cos(pi*y)) on hole

exact    u = sin(pi*x)*sin(pi*y)

ansatz   rfm(features = 800, activation = tanh, scale = 2)
sample   interior = grid(50), boundary = grid(60)
train    lstsq
