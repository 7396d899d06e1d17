# A small problem for the augmented Lagrangian: -u'' = pi^2 sin(pi x) on
# (0, 1) with u = x at both ends; exact u = sin(pi x) + x.
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = x on boundary
exact u = sin(pi*x) + x
ansatz shallow(width = 20, activation = tanh, seed = 0)
sample interior = grid(32)
train alm(lr = 1e-2, epochs = 2000, mu = 10, every = 100)
