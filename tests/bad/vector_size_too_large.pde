# a vector coordinate too large to fit in memory
const n = 1e6
domain x in [0, 1]^n
unknown u
equation -lap(u) = 1
bc u = 0 on boundary
