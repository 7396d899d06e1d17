# components of a vector coordinate have no subscript derivatives
domain x in [0, 1]^4
unknown u
equation u_x = 1
bc u = 0 on boundary
