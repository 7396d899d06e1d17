# a 2-D grid of 100000 points per side has 1e10 points
domain x in [0, 1], y in [0, 1]
unknown u
equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc u = 0 on boundary
exact u = sin(pi*x)*sin(pi*y)
sample interior = grid(100000)
