problem "shaped domains are stationary"
domain   (x, y) in disk([0, 0], 1)
time     t in [0, 1]
unknown  u
equation u_t - lap(u) = 0
bc       u = 0 on boundary
initial  u = 0
