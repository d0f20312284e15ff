# Writes examples/rotterdam/rotterdam.csv from R's survival::rotterdam (the Rotterdam tumour
# bank, 2982 primary breast-cancer patients; Royston & Altman 2013). Run from the repository
# root:  Rscript examples/rotterdam/make_data.R
# Columns as R ships them; tumour size is written as its factor labels (<=20, 20-50, >50).
suppressPackageStartupMessages(library(survival))
data(cancer, package = "survival")
r <- rotterdam
r$size <- as.character(r$size)
r$pid <- as.integer(r$pid)
write.csv(r[, c("pid", "year", "age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon",
                "chemo", "rtime", "recur", "dtime", "death")],
          "examples/rotterdam/rotterdam.csv", row.names = FALSE)
cat("survival", as.character(packageVersion("survival")), "\n")
