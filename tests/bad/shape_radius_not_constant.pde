problem "shape arguments are constants"
domain   (x, y) in disk([0, 0], x)
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
