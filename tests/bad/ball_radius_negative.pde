# the radius of a ball is positive
domain x in ball(10, radius = -1)
unknown u
equation -lap(u) = 1
bc u = 0 on boundary
