# `lstsq` cannot solve the nonlinear equation u*u_x - nu*u_xx = 0
domain x in [-1, 1]
const nu = 0.25
unknown u
equation u*u_x - nu*u_xx = 0
bc u = tanh(1/(2*nu)) on x = -1
bc u = -tanh(1/(2*nu)) on x = 1
exact u = -tanh(x/(2*nu))
train lstsq
