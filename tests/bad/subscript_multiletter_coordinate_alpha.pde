# subscript derivatives need single-letter coordinate names (`xi`)
domain xi in [0, 1]
unknown u
equation -u_xixi = pi^2*sin(pi*xi)
bc u = 0 on boundary
exact u = sin(pi*xi)
