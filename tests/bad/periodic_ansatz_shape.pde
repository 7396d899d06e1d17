problem "the periodic ansatz on a shaped domain"
shape    hole = disk([0, 0], 0.5)
domain   (x, y) in rect([-1, 1], [-1, 1]) - hole
unknown  u
equation -lap(u) = 1
bc       u = 0 on boundary
ansatz   rfm(features = 50) periodic in x
