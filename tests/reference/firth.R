# Reference values for Firth-penalised Cox regression (survstudy.stats.firth), computed to
# full convergence with nothing but survival::coxph.
# Run from the repository root:  Rscript tests/reference/firth.R   -> tests/reference/firth.json
#
# Why: R's coxphf (not on CRAN for this R; its published outputs are used elsewhere in the
# tests) stops when every standardised |step| <= 1e-6, on an iteration that converges
# only linearly (the step uses I(beta), not the Hessian of the penalised likelihood), so
# its printed estimates are within ~1e-7 of the maximum, not 1e-10. This script
# computes the maximum itself:
#   l*(b)  = l(b) + 0.5 log|I(b)|, with l(b) = coxph(..., init = b, iter.max = 0)$loglik[1]
#            and I(b)^-1 = that fit's $var;
#   U*(b)  = U(b) + 0.5 tr(I^-1 dI/db_r), U(b) = colSums of the score residuals at b,
#            dI/db_r = sum over deaths of m * E[(x - a)(x - a)' (x_r - a_r)] under the
#            risk-set weights w exp(x b) (the third central moment: the derivative of a
#            covariance under exponential tilting), written below as a plain loop over
#            death times (Efron: one step per tied death, the deaths' weights reduced by
#            k/d); checked at the start against central differences of coxph's I;
#   Newton steps b <- b + I^-1 U* (capped at 0.5, halved while l* falls) until every
#            |step| < 1e-13;
#   per-term penalised likelihood-ratio test 2[l*(b_hat) - max_{b_j = 0} l*] (the penalty of
#            the full model), profile limits {b_j : 2[l*(b_hat) - max_{b_j = b} l*] = qchisq(.95, 1)}
#            by uniroot (tol 1e-12) on the re-maximised profile.
# This is written for this file only; it uses no Firth routine of any package.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

crit <- qchisq(0.95, 1)

make_model <- function(d, covs, ties, strata = NULL) {
  rhs <- "X"
  if (!is.null(strata)) rhs <- paste(rhs, sprintf("+ strata(%s)", strata))
  f <- as.formula(paste("Surv(time, status) ~", rhs))
  X <- as.matrix(d[, covs, drop = FALSE])
  at <- function(b) {
    dd <- d
    dd$X <- X
    fit <- suppressWarnings(coxph(f, data = dd, ties = ties, init = b,
                                  control = coxph.control(iter.max = 0), x = TRUE, model = TRUE))
    list(loglik = fit$loglik[1], info = solve(fit$var),
         score = colSums(residuals(fit, type = "score")))
  }
  pl <- function(b) {
    a <- at(b)
    a$loglik + 0.5 * as.numeric(determinant(a$info, logarithm = TRUE)$modulus)
  }
  sv <- if (is.null(strata)) rep(1, nrow(d)) else d[[strata]]
  third <- function(b) {
    # dI/db_r for every r: an array p x p x p, by a loop over strata and death times
    p <- length(b)
    out <- array(0, c(p, p, p))
    eta <- drop(X %*% b)
    for (s in unique(sv)) {
      ins <- sv == s
      ts <- sort(unique(d$time[ins & d$status == 1]))
      for (t in ts) {
        risk <- ins & d$time >= t
        dead <- ins & d$time == t & d$status == 1
        nd <- sum(dead)
        steps <- if (ties == "efron") (seq_len(nd) - 1) / nd else 0
        m <- if (ties == "efron") 1 else nd
        for (f in steps) {
          w <- exp(eta[risk]) * ifelse(dead[risk], 1 - f, 1)
          w <- w / sum(w)
          xr <- X[risk, , drop = FALSE]
          a <- colSums(w * xr)
          xc <- sweep(xr, 2, a)
          for (r in seq_len(p)) out[, , r] <- out[, , r] + m * crossprod(xc, w * xc[, r] * xc)
        }
      }
    }
    out
  }
  pscore <- function(b) {
    a <- at(b)
    p <- length(b)
    ainv <- solve(a$info)
    dI <- third(b)
    u <- a$score
    for (r in seq_len(p)) u[r] <- u[r] + 0.5 * sum(diag(ainv %*% dI[, , r]))
    list(u = u, info = a$info, pl = a$loglik + 0.5 * as.numeric(determinant(a$info, logarithm = TRUE)$modulus))
  }
  check_third <- function(b) {
    # the loop's dI/db against central differences of coxph's own I (sanity of the loop)
    p <- length(b); h <- 1e-4; worst <- 0
    dI <- third(b)
    for (r in seq_len(p)) {
      e <- numeric(p); e[r] <- h
      fd <- (at(b + e)$info - at(b - e)$info) / (2 * h)
      worst <- max(worst, max(abs(fd - dI[, , r])) / max(abs(dI[, , r])))
    }
    if (worst > 1e-6) stop(sprintf("third-moment loop disagrees with coxph's I: %g", worst))
    worst
  }
  maximise <- function(b, free) {
    cur <- pscore(b)
    for (it in 1:200) {
      step <- numeric(length(b))
      step[free] <- solve(cur$info[free, free, drop = FALSE], cur$u[free])
      step <- pmax(pmin(step, 0.5), -0.5)
      nb <- b + step
      new <- pscore(nb)
      hs <- 0
      while (new$pl < cur$pl - 1e-12 * abs(cur$pl) && hs < 30) {
        step <- step / 2; nb <- b + step; new <- pscore(nb); hs <- hs + 1
      }
      b <- nb; cur <- new
      if (max(abs(step)) < 1e-13) break
    }
    list(beta = b, pl = cur$pl, info = cur$info)
  }
  list(X = X, pl = pl, maximise = maximise, check_third = check_third)
}

firth_reference <- function(d, covs, ties, strata = NULL) {
  m <- make_model(d, covs, ties, strata)
  p <- length(covs)
  top <- m$maximise(numeric(p), rep(TRUE, p))
  fd_check <- m$check_third(top$beta)
  se <- sqrt(diag(solve(top$info)))
  lr <- numeric(p); lo <- numeric(p); hi <- numeric(p)
  for (j in seq_len(p)) {
    free <- rep(TRUE, p); free[j] <- FALSE
    prof <- function(bj) { b <- top$beta; b[j] <- bj; m$maximise(b, free)$pl }
    lr[j] <- 2 * (top$pl - prof(0))
    dev <- function(bj) 2 * (top$pl - prof(bj)) - crit
    for (dir in c(-1, 1)) {
      inside <- top$beta[j]; k <- 0
      repeat {
        b <- top$beta[j] + dir * se[j] * 2^k
        if (dev(b) >= 0) break
        inside <- b; k <- k + 1
      }
      root <- uniroot(dev, sort(c(inside, b)), tol = 1e-12)$root
      if (dir < 0) lo[j] <- root else hi[j] <- root
    }
  }
  null <- m$pl(numeric(p))
  list(covariates = covs, ties = ties, strata = strata,
       coef = top$beta, se = se, loglik = top$pl, loglik_null = null,
       lr_global = 2 * (top$pl - null),
       lr = lr, p_value = pchisq(lr, 1, lower.tail = FALSE), lower = lo, upper = hi,
       third_moment_vs_finite_differences = fd_check,
       call = sprintf("Firth maximum of coxph(Surv(time, status) ~ %s%s, ties = '%s') loglik + 0.5 log|I|",
                      paste(covs, collapse = " + "),
                      if (is.null(strata)) "" else sprintf(" + strata(%s)", strata), ties))
}

br <- read.csv("tests/reference/data/firth_breast.csv")
names(br)[names(br) == "TIME"] <- "time"
names(br)[names(br) == "CENS"] <- "status"
rng <- read.csv("tests/reference/data/firth_rng42.csv")
names(rng)[names(rng) == "event"] <- "status"
vet <- read.csv("tests/reference/data/veteran.csv")
ova <- read.csv("tests/reference/data/ovarian.csv")
names(ova)[names(ova) == "futime"] <- "time"
names(ova)[names(ova) == "fustat"] <- "status"

out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              jsonlite = as.character(packageVersion("jsonlite")), conf_level = 0.95,
              data = list(breast = "tests/reference/data/firth_breast.csv (coxphf's breast data; TIME -> time, CENS -> status)",
                          rng42 = "tests/reference/data/firth_rng42.csv (event -> status)",
                          veteran = "tests/reference/data/veteran.csv (survival::veteran; tied times)",
                          ovarian = "tests/reference/data/ovarian.csv (survival::ovarian)")),
  fixtures = list(
    breast_breslow = c(list(data = "breast"), firth_reference(br, c("T", "N", "G", "CD"), "breslow")),
    veteran_efron = c(list(data = "veteran"), firth_reference(vet, c("trt", "karno", "age"), "efron")),
    rng42_breslow = c(list(data = "rng42"), firth_reference(rng, c("separator", "x1", "x2", "x3"), "breslow")),
    ovarian_strata = c(list(data = "ovarian"), firth_reference(ova, c("age", "rx"), "efron", strata = "resid.ds"))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/firth.json")
