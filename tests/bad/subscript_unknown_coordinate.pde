# `u_qq`: `q` is not a coordinate
domain x in [0, 1]
unknown u
equation -u_qq = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
