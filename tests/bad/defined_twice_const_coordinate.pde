# the const `x` has the same name as the coordinate `x`
domain x in [0, 1]
const x = 2
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
