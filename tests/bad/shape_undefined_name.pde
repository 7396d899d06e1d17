problem "a shape name that no statement defines"
domain   (x, y) in rect([0, 1], [0, 1]) - hole
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
