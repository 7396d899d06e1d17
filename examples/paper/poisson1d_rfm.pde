# The AD-vs-FD experiment of Chen, Yang, Xiang, Hao (2024) on a random
# feature model: -u'' = f on (0, 1) with a solution that needs many modes,
# u = sin(2 pi x) + 0.1 sin(8 pi x), few features so that the residual loss
# is set by the ansatz, not by round-off.
#   pdec study examples/paper/poisson1d_rfm.pde --vary h=1e-1,3e-2,1e-2,3e-3,1e-3 \
#        --vary features=20,40,80 --diff ad,fd --seeds 0..5
problem "Poisson 1-D, random features (AD vs FD)"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x) + 6.4*pi^2*sin(8*pi*x)
bc       u = 0 on boundary

exact    u = sin(2*pi*x) + 0.1*sin(8*pi*x)

# The paper's network sees the raw coordinates; the figures in
# docs/reproductions.md were measured so (normalize = false).
ansatz   rfm(features = 40, activation = tanh, scale = 8, seed = 0, normalize = false)
sample   interior = grid(200)
diff     ad
train    lstsq
