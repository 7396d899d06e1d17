# `d(u)` names no coordinate to differentiate by
domain x in [0, 1]
unknown u
equation -d(d(u)) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
