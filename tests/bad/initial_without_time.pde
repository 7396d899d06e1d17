# `initial` in a problem without a time coordinate
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
initial u = sin(pi*x)
exact u = sin(pi*x)
