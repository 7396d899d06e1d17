# there is no `equation` statement
domain x in [0, 1]
unknown u
bc u = 0 on boundary
exact u = sin(pi*x)
