# vector coordinates `[0, 1]^100` are reserved and not supported yet
domain x in [0, 1]^100
unknown u
equation -lap(u) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
