problem "a shaped domain's boundary is named by shapes"
shape    hole = disk([0, 0], 0.5)
domain   (x, y) in rect([-1, 1], [-1, 1]) - hole
unknown  u
equation -lap(u) = 1
bc       u = 0 on x = 1
