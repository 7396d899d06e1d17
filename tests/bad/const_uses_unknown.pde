# a const cannot depend on the unknown `u`
domain x in [0, 1]
unknown u
const k = 2*u
equation -u_xx + k = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
