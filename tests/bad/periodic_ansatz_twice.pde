problem "the periodic ansatz lists a coordinate twice"
domain   x in [0, 1], y in [0, 1]
unknown  u
equation -lap(u) = 1
bc       u = 0 on x = 0
ansatz   rfm(features = 50) periodic in y, y
