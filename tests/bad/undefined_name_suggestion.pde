# `pj` is a typo for the built-in `pi`
domain x in [0, 1]
unknown u
equation -u_xx = pj^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
