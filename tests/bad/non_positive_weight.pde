# a condition weight must be positive
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary weight -10
exact u = sin(pi*x)
