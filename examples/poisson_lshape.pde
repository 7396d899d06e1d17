# Poisson on an L-shape with a manufactured solution:
#   -lap(u) = f in L = [-1, 1]^2 minus [0, 1]^2,  u = g on the boundary,
# exact u = sin(pi x/2) cos(pi y/2) + x y.
problem "Poisson on an L-shape, manufactured solution"

shape    corner = rect([0, 1], [0, 1])
domain   (x, y) in rect([-1, 1], [-1, 1]) - corner
unknown  u

equation -lap(u) = pi^2/2*sin(pi*x/2)*cos(pi*y/2)
bc       u = sin(pi*x/2)*cos(pi*y/2) + x*y on boundary

exact    u = sin(pi*x/2)*cos(pi*y/2) + x*y

ansatz   rfm(features = 1200, activation = tanh, scale = 2)
sample   interior = grid(50), boundary = grid(50)
train    lstsq
