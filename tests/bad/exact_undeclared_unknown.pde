# exact solution for `v`, which is not declared
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact v = sin(pi*x)
