# Diffusion with a variable coefficient a(x, y) = 1 + x^2 y, in divergence form:
#   -d(a u_x, x) - d(a u_y, y) = f  in (0, 1)^2,   u = 0 on the boundary.
# The forcing f is manufactured from the exact solution u = sin(pi x) sin(pi y):
#   f = 2 pi^2 a sin(pi x) sin(pi y) - pi (2 x y cos(pi x) sin(pi y) + x^2 sin(pi x) cos(pi y)).
problem "Variable-coefficient diffusion 2-D"

domain   x in [0, 1], y in [0, 1]
unknown  u

let a = 1 + x^2*y
let f = 2*pi^2*a*sin(pi*x)*sin(pi*y) -
        pi*(2*x*y*cos(pi*x)*sin(pi*y) + x^2*sin(pi*x)*cos(pi*y))

# d(expr, x) differentiates the whole product: d(a*u_x, x) = a_x*u_x + a*u_xx.
equation -d(a*u_x, x) - d(a*u_y, y) = f
bc       u = 0 on boundary

exact    u = sin(pi*x)*sin(pi*y)

# No `diff` statement: exact derivatives (`diff ad`) are the default.
ansatz   rfm(features = 1600, activation = tanh, scale = 3)
sample   interior = sobol(4096), boundary = grid(64)
train    lstsq
