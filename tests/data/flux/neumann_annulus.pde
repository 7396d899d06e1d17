# dn(u) on a shape piece becomes n . q with q = grad u.
shape outer = disk([0, 0], 1)
shape hole = disk([0, 0], 0.5)
domain (x, y) in outer - hole
unknown u
equation -lap(u) = 4
bc u = 0 on outer
bc dn(u) = 1 on hole weight 3
exact u = 1 - x^2 - y^2
ansatz rfm(features = 400, activation = tanh, scale = 2)
sample interior = sobol(1024), boundary = grid(128)
train lstsq
formulation flux
