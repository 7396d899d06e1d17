# a `bc` on the time coordinate (should be `initial`)
domain x in [0, 1]
time t in [0, 1]
unknown u
equation u_t - u_xx = 0
bc u = 0 on x = 0, x = 1
bc u = sin(pi*x) on t = 0
exact u = exp(-pi^2*t)*sin(pi*x)
