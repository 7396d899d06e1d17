# `kan` is not a known ansatz
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
ansatz kan(width = 10)
