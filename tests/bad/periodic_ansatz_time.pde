problem "the periodic ansatz on the time coordinate"
domain   x in [0, 1]
time     t in [0, 1]
unknown  u
equation u_t - u_xx = 0
bc       u = 0 on boundary
initial  u = sin(pi*x)
ansatz   rfm(features = 50) periodic in t
