# A Neumann condition u_x = g becomes the flux condition qu_x = g.
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = 0 on x = 0
bc u_x = -pi on x = 1
exact u = sin(pi*x)
ansatz rfm(features = 200, activation = tanh, scale = 3)
sample interior = grid(64)
train lstsq
formulation flux
