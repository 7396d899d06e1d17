# the interval [0, 0] has zero width
domain x in [0, 0]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
