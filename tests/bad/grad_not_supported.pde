# `grad` is a vector: it is only supported inside `sum` and `norm2`
domain x in [0, 1]
unknown u
equation -d(grad(u), x) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
