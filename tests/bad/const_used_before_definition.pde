# the const `k` is used in the equation before it is defined
domain x in [0, 1]
unknown u
equation -u_xx = k^2*sin(pi*x)
const k = pi
bc u = 0 on boundary
exact u = sin(pi*x)
