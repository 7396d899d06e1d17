# Laplace on the unit disk in polar coordinates (r, theta):
#   u_rr + u_r/r + u_thetatheta/r^2 = 0, multiplied by r^2 so that r = 0
#   is allowed: r^2 u_rr + r u_r + u_thetatheta = 0 on [0, 1] x [0, 2 pi],
#   u = cos(theta) on r = 1, u periodic in theta.
# Exact u = r cos(theta) (x in Cartesian coordinates).
# The ansatz is exactly periodic in theta (theta enters the features as
# cos(theta) and sin(theta)), so no `bc periodic in theta` is needed.
problem "Laplace on a disk, polar coordinates"

domain   r in [0, 1], theta in [0, 2*pi]
unknown  u

equation r^2*d(u, r, r) + r*d(u, r) + d(u, theta, theta) = 0
bc       u = cos(theta) on r = 1

exact    u = r*cos(theta)

ansatz   rfm(features = 800, activation = tanh, scale = 0.5) periodic in theta
sample   interior = grid(40), boundary = grid(60)
train    lstsq
