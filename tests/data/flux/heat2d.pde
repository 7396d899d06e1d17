# u_t = a lap(u) in 2-D: the flux form is q = grad u, u_t = a div q.
domain x in [0, 1], y in [0, 1]
time   t in [0, 1]
const  a = 0.1
unknown u
equation u_t = a*lap(u)
bc      u = 0 on boundary
initial u = sin(pi*x)*sin(pi*y)
exact   u = exp(-2*a*pi^2*t)*sin(pi*x)*sin(pi*y)
formulation flux
