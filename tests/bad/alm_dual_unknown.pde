# `dual` of `train alm` is first_order or adaptive
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
ansatz shallow(width = 10)
train alm(dual = newton)
