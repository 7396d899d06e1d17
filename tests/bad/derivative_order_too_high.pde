# a derivative of order 20 in subscript form
domain x in [0, 1]
unknown u
equation u_xxxxxxxxxxxxxxxxxxxx = 1
bc u = 0 on boundary
