# a number literal that overflows a 64-bit float
domain x in [0, 1]
unknown u
equation -u_xx = 1e999*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
