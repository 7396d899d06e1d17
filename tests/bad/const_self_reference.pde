# the const `k` is defined in terms of itself
domain x in [0, 1]
const k = pi*k
unknown u
equation -u_xx = k^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
