# two `domain` statements (both coordinates belong in one)
domain x in [0, 1]
domain y in [0, 1]
unknown u
equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc u = 0 on boundary
exact u = sin(pi*x)*sin(pi*y)
