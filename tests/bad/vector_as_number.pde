# a vector coordinate is not a number: use x[i], sum(x) or norm2(x)
domain x in [0, 1]^100
unknown u
equation -lap(u) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
