# a derivative with respect to the const `c`, not a coordinate
domain x in [0, 1]
const c = 1
unknown u
equation -c*d(u, x, c) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
