# Reference values for survstudy.stats.descriptive (run: Rscript tests/reference/descriptive.R
# from the repository root). Writes tests/reference/descriptive.json; each entry records its R call.
library(jsonlite)

out <- list(
  meta = list(
    R_version = R.version.string,
    jsonlite_version = as.character(packageVersion("jsonlite")),
    script = "tests/reference/descriptive.R"
  ),
  quantile = list(),
  chisq = list(),
  fisher = list(),
  wilcox = list(),
  kruskal = list()
)

qx <- list(
  a = c(29, 35, 41, 44, 46, 46, 47, 50, 52, 55, 56, 57),
  b = c(10, 20, 37.5, 40, 80),
  c = c(1, 2, 3, 4),
  d = c(3.1, 7.25, 0.5, 12, 12, 4.4, 9.9)
)
for (nm in names(qx)) {
  x <- qx[[nm]]
  for (type in c(7, 6)) {
    probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
    out$quantile[[length(out$quantile) + 1]] <- list(
      name = nm, x = x, type = type, probs = probs,
      value = unname(quantile(x, probs, type = type)),
      call = sprintf("quantile(x, probs, type = %d)", type),
      mean = mean(x), sd = sd(x)
    )
  }
}

tabs <- list(
  t22 = matrix(c(12, 5, 7, 9), 2, byrow = TRUE),
  t23 = matrix(c(20, 15, 12, 10, 18, 25), 2, byrow = TRUE),
  t33 = matrix(c(15, 9, 12, 8, 14, 7, 10, 11, 16), 3, byrow = TRUE)
)
for (nm in names(tabs)) {
  m <- tabs[[nm]]
  for (corr in c(FALSE, TRUE)) {
    r <- suppressWarnings(chisq.test(m, correct = corr))
    out$chisq[[length(out$chisq) + 1]] <- list(
      name = nm, table = m, correct = corr, statistic = unname(r$statistic),
      df = unname(r$parameter), p_value = r$p.value,
      call = sprintf("chisq.test(m, correct = %s)", corr)
    )
  }
}

ftabs <- list(
  f22 = matrix(c(3, 1, 1, 3), 2, byrow = TRUE),
  f22b = matrix(c(7, 0, 2, 3), 2, byrow = TRUE),
  f23 = matrix(c(3, 1, 2, 1, 4, 1), 2, byrow = TRUE),
  f33 = matrix(c(2, 0, 1, 1, 3, 0, 0, 1, 4), 3, byrow = TRUE),
  f24 = matrix(c(4, 0, 2, 1, 1, 3, 0, 3), 2, byrow = TRUE)
)
for (nm in names(ftabs)) {
  m <- ftabs[[nm]]
  r <- fisher.test(m)
  out$fisher[[length(out$fisher) + 1]] <- list(
    name = nm, table = m, p_value = r$p.value, call = "fisher.test(m)"
  )
}

wx <- list(
  exact = list(x = c(1.1, 2.3, 3.5, 8.2, 4.4), y = c(4.9, 5.5, 6.1, 7.7, 9.0, 10.2)),
  ties = list(x = c(1, 2, 3, 3, 5, 8), y = c(3, 5, 6, 7, 7, 9, 11))
)
for (nm in names(wx)) {
  x <- wx[[nm]]$x; y <- wx[[nm]]$y
  if (nm == "exact") {
    r <- wilcox.test(x, y, exact = TRUE)
    call <- "wilcox.test(x, y, exact = TRUE)"
  } else {
    r <- suppressWarnings(wilcox.test(x, y, exact = FALSE, correct = TRUE))
    call <- "wilcox.test(x, y, exact = FALSE, correct = TRUE)"
  }
  out$wilcox[[length(out$wilcox) + 1]] <- list(
    name = nm, x = x, y = y, statistic = unname(r$statistic), p_value = r$p.value, call = call
  )
}

kg <- list(c(2.9, 3.0, 2.5, 2.6, 3.2), c(3.8, 2.7, 4.0, 2.4), c(2.8, 3.4, 3.7, 2.2, 2.0, 3.0))
r <- kruskal.test(kg)
out$kruskal[[1]] <- list(
  name = "k3", groups = kg, statistic = unname(r$statistic), df = unname(r$parameter),
  p_value = r$p.value, call = "kruskal.test(list(g1, g2, g3))"
)

# Parametric options (Table 1 with mean (SD)): Welch's t-test and one-way ANOVA.
r <- t.test(wx$exact$x, wx$exact$y)
out$welch <- list(
  x = wx$exact$x, y = wx$exact$y, statistic = unname(r$statistic), df = unname(r$parameter),
  p_value = r$p.value, call = "t.test(x, y)"
)
r <- oneway.test(v ~ g, data = data.frame(v = unlist(kg), g = factor(rep(1:3, lengths(kg)))),
                 var.equal = TRUE)
out$anova <- list(
  groups = kg, statistic = unname(r$statistic), p_value = r$p.value,
  call = "oneway.test(v ~ g, var.equal = TRUE)"
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/descriptive.json")
