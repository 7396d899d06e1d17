# `sin` is a built-in function and cannot be redefined
domain x in [0, 1]
let sin = 2
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
