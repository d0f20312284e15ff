# Reference profile-likelihood confidence limits for the ORDINARY Cox model
# (survstudy.stats.firth.profile_ci / cox_fit_ci(ci="profile")), from R's survival package.
# Run from the repository root:  Rscript tests/reference/profile_ci.R
# Writes tests/reference/profile_ci.json.
#
# The profile log-likelihood of coefficient j at b is the maximum over the other
# coefficients with beta_j fixed at b: coxph(Surv ~ others + offset(b * x_j)) (with one
# covariate: coxph(Surv ~ x, init = b, iter.max = 0)). A limit solves
# 2 * (loglik(beta_hat) - profile(b)) = qchisq(0.95, 1) and is found by stepping away
# from beta_hat by se * 2^k until the deviance exceeds the cut-off (then uniroot,
# tol 1e-10); when |b| reaches 60 without crossing, the limit is recorded as "inf"/"-inf".
# This is written for this file only; it uses no profile-likelihood routine of any package.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
data(cancer, package = "survival")

crit <- qchisq(0.95, 1)

profile_loglik <- function(d, covs, j, b, ties, strata) {
  others <- setdiff(covs, covs[j])
  d$.off <- b * d[[covs[j]]]
  rhs <- c(others, "offset(.off)")
  if (!is.null(strata)) rhs <- c(rhs, sprintf("strata(%s)", strata))
  if (length(others) == 0) {
    f <- as.formula(paste("Surv(time, status) ~", paste(c(covs[j], if (!is.null(strata)) sprintf("strata(%s)", strata)), collapse = " + ")))
    fit <- coxph(f, data = d, ties = ties, init = b, control = coxph.control(iter.max = 0))
    return(fit$loglik[2])
  }
  f <- as.formula(paste("Surv(time, status) ~", paste(rhs, collapse = " + ")))
  fit <- suppressWarnings(coxph(f, data = d, ties = ties, control = coxph.control(eps = 1e-12, iter.max = 100)))
  fit$loglik[2]
}

limits <- function(d, covs, ties, strata = NULL) {
  rhs <- covs
  if (!is.null(strata)) rhs <- c(rhs, sprintf("strata(%s)", strata))
  f <- as.formula(paste("Surv(time, status) ~", paste(rhs, collapse = " + ")))
  fit <- suppressWarnings(coxph(f, data = d, ties = ties, control = coxph.control(eps = 1e-12, iter.max = 100)))
  top <- fit$loglik[2]
  beta <- unname(coef(fit))
  se <- sqrt(diag(fit$var))
  lo <- hi <- numeric(length(covs))
  for (j in seq_along(covs)) {
    h <- min(max(se[j], 0.05), 5)
    dev <- function(b) 2 * (top - profile_loglik(d, covs, j, b, ties, strata)) - crit
    for (dir in c(-1, 1)) {
      inside <- beta[j]
      k <- 0
      res <- NA
      repeat {
        b <- beta[j] + dir * h * 2^k
        if (abs(b) > 60) { b <- dir * 60; if (dev(b) < 0) { res <- dir * Inf }; break }
        if (dev(b) >= 0) break
        inside <- b
        k <- k + 1
      }
      if (is.na(res)) {
        rng <- sort(c(inside, b))
        res <- uniroot(dev, rng, tol = 1e-10)$root
      }
      if (dir < 0) lo[j] <- res else hi[j] <- res
    }
  }
  enc <- function(v) lapply(v, function(z) if (is.infinite(z)) (if (z > 0) "inf" else "-inf") else z)
  list(covariates = covs, ties = ties, strata = if (is.null(strata)) NULL else strata,
       coef = beta, loglik = top, lower = enc(lo), upper = enc(hi),
       call = sprintf("coxph(Surv(time, status) ~ %s, ties = '%s'); profile by offset()", paste(rhs, collapse = " + "), ties))
}

vet <- veteran
ova <- ovarian
names(ova)[names(ova) == "futime"] <- "time"
names(ova)[names(ova) == "fustat"] <- "status"
mono12 <- read.csv("tests/reference/data/mono12.csv")
br <- read.csv("tests/reference/data/firth_breast.csv")
names(br)[names(br) == "TIME"] <- "time"
names(br)[names(br) == "CENS"] <- "status"

out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              jsonlite = as.character(packageVersion("jsonlite")), conf_level = 0.95,
              data = list(veteran = "tests/reference/data/veteran.csv (survival::veteran)",
                          ovarian = "survival::ovarian (futime -> time, fustat -> status), tests/reference/data/ovarian.csv",
                          mono12 = "tests/reference/data/mono12.csv",
                          breast = "tests/reference/data/firth_breast.csv (coxphf's breast data; TIME -> time, CENS -> status)")),
  fixtures = list(
    veteran_efron = c(list(data = "veteran"), limits(vet, c("karno", "trt", "age"), "efron")),
    veteran_breslow = c(list(data = "veteran"), limits(vet, c("karno", "trt", "age"), "breslow")),
    ovarian_strata = c(list(data = "ovarian"), limits(ova, c("age", "rx"), "efron", strata = "resid.ds")),
    mono12_efron = c(list(data = "mono12"), limits(mono12, c("x"), "efron")),
    mono12_breslow = c(list(data = "mono12"), limits(mono12, c("x"), "breslow")),
    breast_TNCD = c(list(data = "breast"), limits(br, c("T", "N", "CD"), "breslow")),
    breast_TNGCD = c(list(data = "breast"), limits(br, c("T", "N", "G", "CD"), "breslow"))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/profile_ci.json")
