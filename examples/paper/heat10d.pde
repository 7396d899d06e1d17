# The heat problem of He et al. (AISTATS 2023) at d = 10 (the paper: d = 100
# and 250): u_t = lap(u) in the unit ball times [0, 1], with the initial and
# sphere values of the exact solution norm2(x)/(2 d) + t.
#   pdec solve examples/paper/heat10d.pde
#   pdec solve examples/paper/heat10d.pde --diff fd --h 1e-3
problem "Heat in ball(10) x [0, 1] (Stein-smoothing paper)"

const    n = 10
domain   x in ball(n)
time     t in [0, 1]
unknown  u

equation u_t = lap(u)
bc       u = norm2(x)/(2*n) + t on boundary weight 10
initial  u = norm2(x)/(2*n) weight 10

exact    u = norm2(x)/(2*n) + t

ansatz   mlp(width = 64, depth = 3, activation = tanh, seed = 0)
sample   interior = random(256, resample = 1), boundary = random(256, resample = 1),
         initial = random(256, resample = 1)
diff     ad
train    adam(lr = 3e-3, epochs = 2000, schedule = linear)
