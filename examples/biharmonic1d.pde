# Biharmonic (beam) equation in 1-D with u and u'' given at both ends:
#   u'''' = pi^4 sin(pi x)  on (0, 1),
#   u = x^3 and u'' = 6 x at x = 0 and x = 1.
# Exact solution: u = sin(pi x) + x^3.
problem "Biharmonic 1-D"

domain   x in [0, 1]
unknown  u

equation u_xxxx = pi^4*sin(pi*x)
bc       u = x^3 on boundary
bc       u_xx = 6*x on boundary

exact    u = sin(pi*x) + x^3

ansatz   rfm(features = 200, activation = tanh, scale = 2)
sample   interior = grid(128)
train    lstsq
