problem "a disk with a negative radius"
domain   (x, y) in disk([0, 0], -1)
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
