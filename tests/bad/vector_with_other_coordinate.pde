# a vector coordinate is the domain's only spatial coordinate
domain x in [0, 1]^10, y in [0, 1]
unknown u
equation -lap(u) = 1
bc u = 0 on boundary
