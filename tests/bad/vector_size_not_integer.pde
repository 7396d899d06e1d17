# the size of a vector coordinate is a positive whole number
domain x in ball(2.5)
unknown u
equation -lap(u) = 1
bc u = 0 on boundary
