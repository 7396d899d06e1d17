problem "a shaped domain in 1-D"
domain   (x) in rect([0, 1])
unknown  u
equation -u_xx = 1
bc       u = 0 on boundary
