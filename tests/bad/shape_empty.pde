problem "a difference that removes everything"
domain   (x, y) in rect([0, 1], [0, 1]) - rect([-1, 2], [-1, 2])
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
