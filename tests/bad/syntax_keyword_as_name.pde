# a keyword used as the name of an unknown
domain x in [0, 1]
unknown domain
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
