# the let `f` is used in the equation before it is defined
domain x in [0, 1]
unknown u
equation -u_xx = f
let f = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
