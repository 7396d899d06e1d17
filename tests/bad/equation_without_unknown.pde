# the equation involves no unknown
domain x in [0, 1]
unknown u
equation 0 = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
