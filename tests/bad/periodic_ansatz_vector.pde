problem "the periodic ansatz on a vector coordinate"
domain   x in [0, 1]^3
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
ansatz   mlp(width = 16, depth = 2) periodic in x
