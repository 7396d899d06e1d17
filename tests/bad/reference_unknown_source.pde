problem "reference from something other than data"
domain    x in [0, 1]
unknown   u
equation  -u_xx = 2
bc        u = 0 on boundary
reference u = table("tables/ragged.csv")
