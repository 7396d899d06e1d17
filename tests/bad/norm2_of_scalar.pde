# `norm2` takes a vector (a vector coordinate or grad(...)), not a scalar coordinate
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*norm2(x))
bc u = 0 on boundary
exact u = sin(pi*x)
