# `x = 0.5` is not a face of [0, 1]
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on x = 0, x = 0.5
exact u = sin(pi*x)
