# Reference values for survstudy.stats.exact (permutation log-rank tests) from R's coin.
# Run from the repository root:  Rscript tests/reference/exact_logrank.R
# Writes tests/reference/exact_logrank.json. Needs coin (Debian: apt-get install r-cran-coin).
#
# coin's log-rank scores with ties.method = "mid-ranks" (its default) are
#   cumsum(d_j / n_j)[t_i] - delta_i,
# minus survstudy's a_i = delta_i - Nelson-Aalen(t_i): every statistic below is invariant to
# that sign. coin's statistic is the linear statistic standardised with the permutation
# (conditional) covariance: Z for two groups, the quadratic form (chi-square) for k groups,
# labels permuted within blocks; stratified cases: see the note in add().
# Exact p-values: coin gives them for two groups only (split-up algorithm; with blocks the
# shift algorithm, which needs integer scores: see the note in add()). For k groups coin
# offers only approximate(nresample = B).
suppressPackageStartupMessages({library(coin); library(survival); library(jsonlite)})

versions <- list(R = R.version.string, coin = as.character(packageVersion("coin")),
                 survival = as.character(packageVersion("survival")))
dd <- "tests/reference/data"
aml <- read.csv(file.path(dd, "aml.csv"))

sets <- list(
  two10 = data.frame(t = c(1, 2, 2, 3, 4, 5, 6, 6, 7, 9), e = c(1, 1, 0, 1, 1, 0, 1, 1, 0, 1),
                     g = c(0, 1, 0, 0, 1, 1, 0, 1, 1, 0), s = rep(1:2, 5)),
  aml = data.frame(t = aml$time, e = aml$status, g = aml$maintained, s = rep(1:2, length.out = nrow(aml))),
  three12 = data.frame(t = c(5, 8, 8, 12, 15, 20, 22, 30, 31, 40, 41, 50),
                       e = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0),
                       g = c(2, 0, 1, 2, 0, 2, 1, 0, 2, 1, 1, 0),
                       s = c(1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2)),
  three9 = data.frame(t = c(2, 3, 3, 5, 7, 8, 10, 12, 13), e = c(1, 1, 1, 0, 1, 1, 0, 1, 0),
                      g = c(0, 1, 2, 0, 1, 2, 2, 0, 1), s = c(1, 2, 1, 2, 1, 2, 1, 2, 1))
)

B <- 200000L
out <- list(versions = versions, nresample = B, cases = list())
add <- function(name, set, strat, dist) {
  d <- sets[[set]]
  d$g <- factor(d$g); d$s <- factor(d$s)
  f <- if (strat) Surv(t, e) ~ g | s else Surv(t, e) ~ g
  dist_call <- switch(dist,
    exact = "'exact'",
    approximate = sprintf("approximate(nresample = %d)", B),
    asymptotic = "'asymptotic'")
  dist_obj <- switch(dist,
    exact = "exact",
    approximate = approximate(nresample = B),
    asymptotic = "asymptotic")
  if (strat) {
    # coin's logrank_test(Surv(t, e) ~ g | s) computes the log-rank scores on the POOLED
    # sample and only permutes within blocks. survstudy (like survival::survdiff with
    # strata()) uses scores computed within each stratum, so the stratified cases give coin
    # those scores: logrank_trafo within each block, as the response of independence_test
    # with the same blocks. For "exact" they are multiplied by 27720 = lcm(1..12) (every risk
    # set here has <= 12 subjects) and rounded, integers for the shift algorithm (scale-free).
    y <- numeric(nrow(d))
    for (b in levels(d$s)) y[d$s == b] <- logrank_trafo(Surv(d$t, d$e)[d$s == b])
    d$y <- if (dist == "exact") round(27720 * y) else y
    ts <- if (nlevels(d$g) == 2) "scalar" else "quadratic"
    set.seed(20261127)
    r <- independence_test(y ~ g | s, data = d, teststat = ts,
                           distribution = if (dist == "exact") exact(algorithm = "shift") else dist_obj)
    call <- sprintf(paste("y <- %scoin::logrank_trafo(Surv(t, e)) within each level of s;",
                          "set.seed(20261127); coin::independence_test(y ~ g | s, data = %s,",
                          "teststat = '%s', distribution = %s)"),
                    if (dist == "exact") "27720 * (rounded) " else "", set, ts,
                    if (dist == "exact") "exact(algorithm = 'shift')" else dist_call)
  } else {
    set.seed(20261127)
    r <- logrank_test(f, data = d, distribution = dist_obj)
    call <- sprintf("set.seed(20261127); coin::logrank_test(%s, data = %s, distribution = %s)",
                    deparse(f), set, dist_call)
  }
  out$cases[[name]] <<- list(
    data = set, stratified = strat, distribution = dist,
    call = call,
    statistic = unname(statistic(r)), p_value = unname(pvalue(r)),
    n_groups = nlevels(d$g))
}
for (set in names(sets)) {
  k <- length(unique(sets[[set]]$g))
  for (strat in c(FALSE, TRUE)) {
    add(sprintf("%s%s_asymptotic", set, if (strat) "_strat" else ""), set, strat, "asymptotic")
    add(sprintf("%s%s_approximate", set, if (strat) "_strat" else ""), set, strat, "approximate")
    if (k == 2) add(sprintf("%s%s_exact", set, if (strat) "_strat" else ""), set, strat, "exact")
  }
}
# coin's own blocked log-rank (pooled scores, within-block permutation), for the record and
# a hand-formula test of that difference.
d <- sets$two10; d$g <- factor(d$g); d$s <- factor(d$s)
out$coin_blocked_pooled_scores <- list(
  call = "coin::logrank_test(Surv(t, e) ~ g | s, data = two10)",
  statistic = unname(statistic(logrank_test(Surv(t, e) ~ g | s, data = d))))
out$data <- lapply(sets, as.list)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/exact_logrank.json")
