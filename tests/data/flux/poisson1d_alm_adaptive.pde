# tests/data/flux/poisson1d_alm.pde with the multiplier update of Basir's
# published code: lambda_i on c_i^2, from 1, a per-point RMSprop step of
# size mu = 1 after every epoch.
domain x in [0, 1]
unknown u
equation -u_xx = pi^2*sin(pi*x)
bc u = x on boundary
exact u = sin(pi*x) + x
ansatz shallow(width = 20, activation = tanh, seed = 0)
sample interior = grid(32)
train alm(lr = 5e-3, epochs = 5000, mu = 1, every = 1, dual = adaptive)
