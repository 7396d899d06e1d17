# `d(u, 2)`: the second argument must be a coordinate, not an order
domain x in [0, 1]
unknown u
equation -d(u, 2) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
