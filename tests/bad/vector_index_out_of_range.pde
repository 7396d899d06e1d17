# components count from 1 to d
domain x in [0, 1]^3
unknown u
equation -lap(u) = x[0]
bc u = 0 on boundary
