# `foo` is not a function
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*foo(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
