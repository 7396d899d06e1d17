# `x` is a scalar coordinate: it has no components `x[1]`
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x[1])
bc u = 0 on boundary
exact u = sin(pi*x)
