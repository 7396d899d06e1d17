problem "reference for a name that is not an unknown"
domain    x in [0, 1]
unknown   u
equation  -u_xx = 2
bc        u = 0 on boundary
reference v = data("tables/ragged.csv")
