# `norm2` belongs to vector coordinates and is not supported yet
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*norm2(x))
bc u = 0 on boundary
exact u = sin(pi*x)
