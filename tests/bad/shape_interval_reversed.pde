problem "a rectangle with lo > hi"
domain   (x, y) in rect([1, 0], [0, 1])
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
