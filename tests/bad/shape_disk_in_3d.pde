problem "disk is 2-D"
domain   (x, y, z) in disk([0, 0, 0], 1)
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
