# The Neumann condition with the sign of the normal wrong (the normal of
# the hole taken as the disk's own, pointing out of the hole): the exact
# check warns and names the piece.
problem "Helmholtz on a square with a hole, Neumann on the hole"

const    k = 3
shape    outer = rect([-1, 1], [-1, 1])
shape    hole = disk([0, 0], 0.5)
domain   (x, y) in outer - hole
unknown  u

equation -lap(u) - k^2*u = (2*pi^2 - k^2)*sin(pi*x)*sin(pi*y)
bc       u = sin(pi*x)*sin(pi*y) on outer
bc       dn(u) = 2*pi*(x*cos(pi*x)*sin(pi*y) + y*sin(pi*x)*cos(pi*y)) on hole

exact    u = sin(pi*x)*sin(pi*y)

ansatz   rfm(features = 1600, activation = tanh, scale = 2)
sample   interior = grid(50), boundary = grid(60)
train    lstsq
