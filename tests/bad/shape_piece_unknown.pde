problem "a bc on a piece the domain does not have"
shape    hole = disk([0, 0], 0.5)
domain   (x, y) in rect([-1, 1], [-1, 1]) - hole
unknown  u
equation -lap(u) = 1
bc       u = 0 on rim
