problem "a shape that contains itself"
shape    a = rect([0, 1], [0, 1]) - b
shape    b = a & disk([0, 0], 1)
domain   (x, y) in a
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
