# the unknown `u` is called like a function
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u(x) = 0 on boundary
exact u = sin(pi*x)
