problem "normalize takes true or false"
domain   x in [0, 1]
unknown  u
equation -u_xx = 2
bc       u = 0 on boundary
ansatz   rfm(features = 50, normalize = 1)
