# Periodic Poisson in 1-D:
#   -u'' = 4 pi^2 sin(2 pi x) on [0, 1], u periodic (u and u' agree at
#   x = 0 and x = 1), u(0) = 0 (fixes the constant periodic solutions add).
# Exact u = sin(2 pi x).
problem "Periodic Poisson 1-D"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x)
bc       periodic in x
bc       u = 0 on x = 0

exact    u = sin(2*pi*x)

ansatz   rfm(features = 200, activation = tanh, scale = 2)
sample   interior = grid(200), boundary = grid(1)
train    lstsq
