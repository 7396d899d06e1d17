# `pi` is built in and cannot be redefined
domain x in [0, 1]
const pi = 3
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
