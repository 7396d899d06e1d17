# the interval [1, 0] is empty (bounds reversed)
domain x in [1, 0]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
