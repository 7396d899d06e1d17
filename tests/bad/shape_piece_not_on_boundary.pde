problem "a named shape that lies inside another and so is no part of the boundary"
shape    inner = disk([0, 0], 0.25)
domain   (x, y) in rect([-1, 1], [-1, 1]) + inner
unknown  u
equation -lap(u) = 1
bc       u = 0 on inner
