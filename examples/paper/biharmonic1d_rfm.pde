# The biharmonic experiment of Chen, Yang, Xiang, Hao (2024) on a random
# feature model: u'''' = f on (0, 1), clamped ends (u and u' given), few
# features, exact solution sin(2 pi x).
#   pdec study examples/paper/biharmonic1d_rfm.pde --vary h=1e-1,3e-2,1e-2,3e-3 \
#        --vary features=20,40,80 --diff ad,fd --seeds 0..5
problem "Biharmonic 1-D, random features (AD vs FD)"

domain   x in [0, 1]
unknown  u

equation u_xxxx = 16*pi^4*sin(2*pi*x)
bc       u = 0 on boundary
bc       u_x = 2*pi on boundary

exact    u = sin(2*pi*x)

# The paper's network sees the raw coordinates; the figures in
# docs/reproductions.md were measured so (normalize = false).
ansatz   rfm(features = 40, activation = tanh, scale = 6, seed = 0, normalize = false)
sample   interior = grid(200)
diff     ad
train    lstsq
