# Reference values for survstudy's concordance (src/survstudy/stats/concordance.py), from R's survival package.
# Run from the repository root:  Rscript tests/reference/concordance.R
# Writes tests/reference/concordance.json. Each fixture records the coxph() call, the concordance() call,
# R and survival versions, and the inputs the test needs: times, 0/1 status, the fit's linear predictor
# (fit$linear.predictors, 15 significant digits), strata / weights / cluster codes. Values: concordance(fit)
# (R's default timewt = "n"): $concordance, sqrt($var) and $count.
# As a guard, the script recomputes concordance() from the written (rounded) linear predictor and stops if it
# differs from concordance(fit), so that the rounding cannot have changed a tie.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
data(cancer, package = "survival")

fixture <- function(name, fit, data, strata = NULL, weights = NULL, cluster = NULL, note = "", covariates = NULL) {
  cc <- concordance(fit)
  lp <- signif(unname(fit$linear.predictors), 15)
  y <- fit$y
  d <- data.frame(time = y[, 1], status = y[, 2], lp = lp)
  st <- if (is.null(strata)) NULL else as.integer(factor(data[[strata]]))
  wt <- if (is.null(weights)) NULL else data[[weights]]
  cl <- if (is.null(cluster)) NULL else as.integer(factor(data[[cluster]]))
  d$st <- if (is.null(st)) 1L else st
  d$wt <- if (is.null(wt)) 1 else wt
  chk <- if (is.null(cl)) {
    concordance(Surv(time, status) ~ lp + strata(st), data = d, weights = wt, reverse = TRUE)
  } else {
    d$cl <- cl
    concordance(Surv(time, status) ~ lp + strata(st) + cluster(cl), data = d, weights = wt, reverse = TRUE)
  }
  stopifnot(isTRUE(all.equal(chk$concordance, cc$concordance, tolerance = 1e-12)),
            isTRUE(all.equal(chk$var, cc$var, tolerance = 1e-12)))
  list(
    name = name, note = note,
    call = paste(deparse(fit$call), collapse = " "), r_call = "concordance(fit)",
    R = R.version.string, survival = as.character(packageVersion("survival")),
    n = nrow(y), time = unname(y[, 1]), status = as.integer(y[, 2]), lp = lp,
    strata = st, weights = wt, cluster = cl,
    # numeric covariates (only where the test refits the model with survstudy's cox_fit)
    covariates = if (is.null(covariates)) NULL else lapply(setNames(covariates, covariates), function(v) data[[v]]),
    concordance = unname(cc$concordance), se = sqrt(unname(cc$var)),
    # with strata R reports one row of counts per stratum: the totals are the column sums
    count = as.list(if (is.matrix(cc$count)) colSums(cc$count) else cc$count)
  )
}

lung2 <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog")]), ]
lung2$ev <- as.integer(lung2$status == 2)
# deterministic case weights 1, 1.5, 2, 1, 1.5, 2, ...
lung2$w <- 1 + ((seq_len(nrow(lung2)) - 1) %% 3) / 2
vet <- veteran
kid <- kidney

# A larger data set (above survstudy's former 10 000-patient cap) with heavy ties in both time
# (whole months) and the linear predictor (a binary and a one-decimal covariate).
set.seed(20261127)
nbig <- 15000
big <- data.frame(x1 = rbinom(nbig, 1, 0.4), x2 = round(rnorm(nbig), 1))
tt <- ceiling(rexp(nbig, 1 / 24) * exp(-0.5 * big$x1 - 0.3 * big$x2))
cens <- ceiling(runif(nbig, 0, 60))
big$time <- pmin(tt, cens)
big$status <- as.integer(tt <= cens)
big$grp <- rbinom(nbig, 1, 0.5)

fx <- list(
  fixture("lung", coxph(Surv(time, ev) ~ age + sex + ph.ecog, data = lung2), lung2, note = "ties in time",
          covariates = c("age", "sex", "ph.ecog")),
  fixture("lung_ties_x", coxph(Surv(time, ev) ~ sex + ph.ecog, data = lung2), lung2,
          note = "8 distinct linear predictor values: many ties in x, in time and in both"),
  fixture("lung_weights", coxph(Surv(time, ev) ~ age + sex + ph.ecog, data = lung2, weights = w), lung2,
          weights = "w", note = "case weights"),
  fixture("veteran_strata", coxph(Surv(time, status) ~ karno + celltype + strata(trt), data = vet), vet,
          strata = "trt", note = "pairs only within trt"),
  fixture("veteran_strata_celltype", coxph(Surv(time, status) ~ karno + age + strata(celltype), data = vet), vet,
          strata = "celltype", note = "four strata"),
  fixture("kidney_cluster", coxph(Surv(time, status) ~ age + sex + cluster(id), data = kid), kid,
          cluster = "id", note = "grouped jackknife variance"),
  fixture("aml", coxph(Surv(time, status) ~ x, data = aml), aml, note = "binary predictor, tied times"),
  fixture("big_ties_strata", coxph(Surv(time, status) ~ x1 + x2 + strata(grp), data = big), big,
          strata = "grp", note = "n = 15000 simulated (seed 20261127), month-rounded times, tied predictor",
          covariates = c("x1", "x2"))
)
names(fx) <- vapply(fx, function(f) f$name, "")
out <- list(meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                        script = "tests/reference/concordance.R"),
            fixtures = fx)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null"),
           "tests/reference/concordance.json")
