problem "a polygon whose vertices lie on a line"
domain   (x, y) in polygon([0, 0], [1, 1], [2, 2])
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
