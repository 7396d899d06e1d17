# `u_x` already means the derivative of `u` with respect to `x`
domain x in [0, 1]
unknown u
let u_x = pi^2*sin(pi*x)
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
