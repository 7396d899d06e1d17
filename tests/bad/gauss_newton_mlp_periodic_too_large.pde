problem "a periodic input widens the first layer past the gauss_newton limit"
domain   x in [0, 1]
unknown  u
equation -u_xx = 4*pi^2*sin(2*pi*x)
bc       u = 0 on x = 0
# 2497 parameters with x as is; cos and sin of x make 2545.
ansatz   mlp(width = 48, depth = 2) periodic in x
train    gauss_newton
