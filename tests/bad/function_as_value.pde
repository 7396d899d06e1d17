# the function `sin` is used as a value
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary weight 2*sin
exact u = sin(pi*x)
