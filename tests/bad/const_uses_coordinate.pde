# a const cannot depend on the coordinate `x` (that needs `let`)
domain x in [0, 1]
const f = pi^2*sin(pi*x)
unknown u
equation -u_xx = f
bc u = 0 on boundary
exact u = sin(pi*x)
