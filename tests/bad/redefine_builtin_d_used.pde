# `d` is the built-in derivative operator: `const d = ...` is one error
# (E0203), and its uses report nothing more (no E0209 "`d` is a function")
domain x in [0, 1]
const d = 2
unknown u
equation -d*u_xx = d*pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
