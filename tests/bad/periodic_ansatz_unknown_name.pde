problem "the periodic ansatz on a name that is not a coordinate"
domain   x in [0, 1]
unknown  u
equation -u_xx = 2
bc       u = 0 on boundary
ansatz   shallow(width = 20) periodic in y
