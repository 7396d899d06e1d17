# subscript derivatives need single-letter coordinate names
domain x1 in [0, 1]
unknown u
equation -u_x1x1 = pi^2*sin(pi*x1)
bc u = 0 on boundary
exact u = sin(pi*x1)
