# the source term `source` is never defined
domain x in [0, 1]
unknown u
equation -u_xx = source
bc u = 0 on boundary
exact u = sin(pi*x)
