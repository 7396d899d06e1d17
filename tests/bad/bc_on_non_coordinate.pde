# `q` in `on q = 0` is not a coordinate
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on q = 0, x = 1
exact u = sin(pi*x)
