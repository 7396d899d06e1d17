problem "an unknown shape function"
domain   (x, y) in rect([0, 1], [0, 1]) - circle([0.5, 0.5], 0.2)
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
