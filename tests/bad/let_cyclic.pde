# `f` uses `g`, defined later, which uses `f`
domain x in [0, 1]
unknown u
let f = pi*g
let g = f*sin(pi*x)
equation -u_xx = f
bc u = 0 on boundary
exact u = sin(pi*x)
