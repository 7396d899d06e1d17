problem "a polygon whose edges cross (a bow tie)"
domain   (x, y) in polygon([0, 0], [2, 2], [2, 0], [0, 1])
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
