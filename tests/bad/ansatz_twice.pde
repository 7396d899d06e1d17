# two `ansatz` statements
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
ansatz rfm(features = 100)
ansatz rfm(features = 200)
