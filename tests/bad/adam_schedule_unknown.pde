# an unknown learning-rate schedule
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
ansatz mlp(width = 16, depth = 2)
train adam(schedule = exponential)
