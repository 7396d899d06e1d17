# The two-layer-network experiment of Chen, Yang, Xiang, Hao (2024): the
# same Poisson problem as poisson1d_rfm.pde, all weights trained by
# full-batch Adam. The study compares how fast the loss falls (epochs to a
# loss level) with the truncated entropy of the Jacobian at initialization.
#   pdec study examples/paper/poisson1d_shallow.pde --vary h=1e-1,1e-2,1e-3 \
#        --vary width=20,40 --diff ad,fd --seeds 0..4
problem "Poisson 1-D, two-layer network (AD vs FD)"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x) + 6.4*pi^2*sin(8*pi*x)
bc       u = 0 on boundary weight 10

exact    u = sin(2*pi*x) + 0.1*sin(8*pi*x)

# The paper's network sees the raw coordinates; the figures in
# docs/reproductions.md were measured so (normalize = false).
ansatz   shallow(width = 40, activation = tanh, seed = 0, normalize = false)
sample   interior = grid(100)
diff     ad
train    adam(lr = 1e-2, epochs = 3000)
