# finite-difference order 3 is not supported (2 or 4)
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
diff fd(order = 3)
