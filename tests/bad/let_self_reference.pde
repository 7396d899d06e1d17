# the let `f` refers to itself
domain x in [0, 1]
unknown u
let f = pi^2*sin(pi*x) + 0*f
equation -u_xx = f
bc u = 0 on boundary
exact u = sin(pi*x)
