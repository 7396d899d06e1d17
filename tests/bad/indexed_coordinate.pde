# indexed coordinates `x[1]` are reserved and not supported yet
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x[1])
bc u = 0 on boundary
exact u = sin(pi*x)
