# Reference values for survstudy's competing-risks statistics (src/survstudy/stats/competing.py,
# src/survstudy/stats/finegray.py), from R's cmprsk (cuminc, timepoints, crr) and survival
# (survfit on a multi-state Surv, survfit_confint, coxph).
# Run from the repository root:  Rscript tests/reference/competing.R
# Writes tests/reference/data/cr_*.csv (the data sets, built from public R data as below) and
# tests/reference/competing.json. Each fixture records the R call; status is 0 = censored,
# any other value a cause (cmprsk's cencode = 0).
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
data(cancer, package = "survival")
data(bmt, package = "timereg")

dd <- "tests/reference/data"
dir.create(dd, showWarnings = FALSE)

# --- data sets -------------------------------------------------------------------------------
# mgus2: progression to a plasma-cell malignancy (1) vs death without progression (2), months,
# built as in the survival package's "compete" vignette; integer months: many tied times.
mg <- mgus2
cr_mgus2 <- data.frame(time = ifelse(mg$pstat == 0, mg$futime, mg$ptime),
                       status = ifelse(mg$pstat == 0, 2 * mg$death, 1),
                       sex = as.character(mg$sex), age = mg$age, hgb = mg$hgb, mspike = mg$mspike)
# colon (adjuvant chemotherapy trial): recurrence (1) vs death without recurrence (2), days;
# rx has three levels (Obs, Lev, Lev+5FU).
rec <- colon[colon$etype == 1, ]; dth <- colon[colon$etype == 2, ]
stopifnot(all(rec$id == dth$id))
cr_colon <- data.frame(time = ifelse(rec$status == 1, rec$time, dth$time),
                       status = ifelse(rec$status == 1, 1, ifelse(dth$status == 1, 2, 0)),
                       rx = as.character(rec$rx), sex = rec$sex, age = rec$age, nodes = rec$nodes,
                       obstruct = rec$obstruct, node4 = rec$node4)
# pbc (the 312 randomised patients): transplant (1) vs death (2), days; edema 0 / 0.5 / 1.
pb <- pbc[!is.na(pbc$trt), ]
cr_pbc <- data.frame(time = pb$time, status = pb$status, trt = pb$trt, age = pb$age,
                     sex = as.character(pb$sex), bili = pb$bili, albumin = pb$albumin,
                     edema = pb$edema)
# bmt (timereg): relapse (1) vs death in remission (2) after bone-marrow transplant, years;
# many tied times (0.03).
cr_bmt <- data.frame(time = bmt$time, status = bmt$cause, platelet = bmt$platelet,
                     tcell = bmt$tcell, age = bmt$age)
# a tiny constructed set with every kind of tie: cause 1, cause 2 and censorings at the same
# time, and a censoring at time 0.
cr_ties <- data.frame(time = c(0, 1, 2, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7, 7, 8, 9, 9, 10, 12),
                      status = c(0, 2, 1, 1, 2, 0, 1, 0, 2, 1, 2, 0, 0, 1, 1, 2, 0, 1, 2, 0),
                      x = c(0.5, 1.2, 2.0, 0.3, -0.4, 1.1, 0.8, -1.0, 0.0, 1.5, 0.2, -0.3, 0.9,
                            2.2, -0.6, 0.4, 1.0, 0.7, -1.2, 0.1),
                      g = c("a", "b", "a", "b", "a", "b", "a", "a", "b", "b", "a", "b", "a", "b",
                            "a", "a", "b", "b", "a", "b"))
sets <- list(cr_mgus2 = cr_mgus2, cr_colon = cr_colon, cr_pbc = cr_pbc, cr_bmt = cr_bmt,
             cr_ties = cr_ties)
for (nm in names(sets)) write.csv(sets[[nm]], file.path(dd, paste0(nm, ".csv")), row.names = FALSE)

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 cmprsk = as.character(packageVersion("cmprsk")))
out <- list()

# --- cumulative incidence and Gray's test -------------------------------------------------------
cif_fixture <- function(name, data, by = NULL, strata = NULL, times, rho = 0) {
  d <- sets[[data]]
  keep <- !is.na(d$time) & !is.na(d$status)
  if (!is.null(by)) keep <- keep & !is.na(d[[by]])
  if (!is.null(strata)) keep <- keep & !is.na(d[[strata]])
  d <- d[keep, ]
  g <- if (is.null(by)) rep(1, nrow(d)) else d[[by]]
  args <- list(d$time, d$status, cencode = 0, rho = rho)
  if (!is.null(by)) args$group <- g
  if (!is.null(strata)) args$strata <- d[[strata]]
  ci <- do.call(cuminc, args)
  call <- sprintf("cuminc(time, status%s%s, rho = %s, cencode = 0), data %s",
                  if (is.null(by)) "" else sprintf(", group = %s", by),
                  if (is.null(strata)) "" else sprintf(", strata = %s", strata), rho, data)
  tp <- timepoints(ci, times)
  curves <- list()
  levs <- sort(unique(g))
  causes <- sort(unique(d$status[d$status != 0]))
  for (lv in levs) for (cs in causes) {
    key <- paste(lv, cs)
    cu <- ci[[key]]
    at_est <- unname(tp$est[key, ]); at_var <- unname(tp$var[key, ])
    cis <- list()
    for (ct in c("log-log", "log", "plain")) for (lvl in c(0.95, 0.9)) {
      # survival's own confidence-interval rule applied to the CIF and cmprsk's variance
      r <- survival:::survfit_confint(at_est, sqrt(at_var), logse = FALSE, conf.type = ct,
                                      conf.int = lvl)
      cis[[length(cis) + 1]] <- list(conf_type = ct, conf_level = lvl, lower = r$lower,
                                     upper = r$upper)
    }
    curves[[length(curves) + 1]] <- list(group = lv, cause = cs, time = cu$time, est = cu$est,
                                         var = cu$var, at_est = at_est, at_var = at_var,
                                         at_ci = cis)
  }
  # the Aalen-Johansen estimate from survival's multi-state survfit (estimates and n at risk)
  ms <- list()
  for (lv in levs) {
    sub <- d[g == lv, ]
    fit <- survfit(Surv(time, factor(status, levels = c(0, causes))) ~ 1, data = sub)
    ms[[length(ms) + 1]] <- list(group = lv, time = fit$time, n_risk = fit$n.risk[, 1],
                                 pstate = lapply(seq_along(causes), function(j) fit$pstate[, j + 1]),
                                 causes = causes)
  }
  tests <- NULL
  if (!is.null(ci$Tests)) {
    tt <- ci$Tests
    tests <- lapply(seq_len(nrow(tt)), function(i)
      list(cause = as.numeric(rownames(tt)[i]), statistic = tt[i, "stat"], df = tt[i, "df"],
           p_value = pchisq(tt[i, "stat"], tt[i, "df"], lower.tail = FALSE),
           p_value_cmprsk = tt[i, "pv"]))
  }
  out[[name]] <<- list(kind = "cif", data = data, by = by, strata = strata, rho = rho,
                       times = times, causes = causes, groups = levs, call = call,
                       survfit_call = "survfit(Surv(time, factor(status)) ~ 1) per group",
                       ci_call = "survival:::survfit_confint(est, sqrt(var), logse = FALSE, conf.type, conf.int)",
                       versions = versions, curves = curves, survfit = ms, tests = tests)
}

cif_fixture("cif_mgus2", "cr_mgus2", times = c(0, 12, 60, 120, 240, 424, 500))
cif_fixture("cif_mgus2_sex", "cr_mgus2", by = "sex", times = c(12, 60, 120, 240, 400, 500))
cif_fixture("cif_colon_rx", "cr_colon", by = "rx", times = c(365, 730, 1826, 3000))
cif_fixture("cif_colon_rx_strata_sex", "cr_colon", by = "rx", strata = "sex",
            times = c(365, 1826))
cif_fixture("cif_pbc_edema_strata_trt", "cr_pbc", by = "edema", strata = "trt",
            times = c(365, 1826, 3652))
cif_fixture("cif_bmt_platelet", "cr_bmt", by = "platelet", times = c(0.5, 1, 2, 5))
cif_fixture("cif_bmt_platelet_strata_tcell", "cr_bmt", by = "platelet", strata = "tcell",
            times = c(1, 5))
cif_fixture("cif_bmt_platelet_rho1", "cr_bmt", by = "platelet", times = c(1), rho = 1)
cif_fixture("cif_ties", "cr_ties", by = "g", times = c(0, 2, 2.5, 5, 9, 12, 13))

# --- Fine-Gray regression -----------------------------------------------------------------------
crr_fixture <- function(name, data, formula, cause, factors = list(), covariates) {
  d <- sets[[data]]
  for (f in names(factors)) d[[f]] <- factor(d[[f]], levels = factors[[f]])
  mf <- model.frame(formula, data = d, na.action = na.omit)
  d <- d[rownames(mf), ]
  x <- model.matrix(formula, data = d)[, -1, drop = FALSE]
  fit <- crr(d$time, d$status, cov1 = x, failcode = cause, cencode = 0)
  # crr stops when max|score| * max(|b|, 1) < 1e-6 * max(|loglik|, 1): its estimate can sit
  # ~1e-6 (relative) from the maximum, and a smaller gtol can stall in its line search.
  # The "polished" reference: Newton steps b + inf^-1 score from crr's estimate, with crr's own
  # score and information (crr(init = b, maxiter = 0)), until the step is below 1e-13.
  b <- fit$coef
  for (k in 1:10) {
    at <- crr(d$time, d$status, cov1 = x, failcode = cause, cencode = 0, init = b, maxiter = 0)
    step <- solve(at$inf, at$score)
    b <- b + step
    if (max(abs(step) / pmax(abs(b), 1)) < 1e-13) break
  }
  tight <- crr(d$time, d$status, cov1 = x, failcode = cause, cencode = 0, init = b, maxiter = 0)
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se
  qz <- qnorm(0.975)
  out[[name]] <<- list(
    kind = "crr", data = data, cause = cause, covariates = covariates, factors = factors,
    terms = colnames(x), n = fit$n, n_missing = nrow(sets[[data]]) - nrow(d),
    call = sprintf("crr(time, status, cov1 = model.matrix(%s)[, -1], failcode = %s, cencode = 0)",
                   deparse(formula), cause),
    versions = versions, converged = fit$converged,
    coef = unname(fit$coef), se = unname(se), var = unname(fit$var), z = unname(z),
    p_value = unname(2 * pnorm(-abs(z))), hr = unname(exp(fit$coef)),
    lower = unname(exp(fit$coef - qz * se)), upper = unname(exp(fit$coef + qz * se)),
    loglik = fit$loglik, loglik_null = fit$loglik.null, invinf = unname(fit$invinf),
    uftime = fit$uftime, bfitj = fit$bfitj,
    tight_call = "Newton steps solve(inf, score) from crr's estimate with crr(init = b, maxiter = 0)",
    tight_max_score = max(abs(tight$score)),
    tight_coef = unname(tight$coef), tight_var = unname(tight$var), tight_loglik = tight$loglik,
    tight_bfitj = tight$bfitj)
}

crr_fixture("crr_mgus2", "cr_mgus2", ~ age + sex + hgb, cause = 1,
            factors = list(sex = c("F", "M")), covariates = c("age", "sex", "hgb"))
crr_fixture("crr_mgus2_death", "cr_mgus2", ~ age + sex + mspike, cause = 2,
            factors = list(sex = c("F", "M")), covariates = c("age", "sex", "mspike"))
crr_fixture("crr_colon", "cr_colon", ~ rx + age + nodes + obstruct, cause = 1,
            factors = list(rx = c("Obs", "Lev", "Lev+5FU")),
            covariates = c("rx", "age", "nodes", "obstruct"))
crr_fixture("crr_pbc", "cr_pbc", ~ age + log(bili) + albumin + edema, cause = 2,
            factors = list(edema = c(0, 0.5, 1)),
            covariates = c("age", "log_bili", "albumin", "edema"))
crr_fixture("crr_bmt", "cr_bmt", ~ age + platelet + tcell, cause = 1,
            covariates = c("age", "platelet", "tcell"))
crr_fixture("crr_ties", "cr_ties", ~ x, cause = 1, covariates = c("x"))

# --- cause-specific Cox: competing events censored ------------------------------------------------
cs <- coxph(Surv(time, status == 1) ~ age + sex + hgb, data = cr_mgus2)
out[["cs_mgus2"]] <- list(kind = "cause_specific", data = "cr_mgus2", cause = 1,
                          covariates = c("age", "sex", "hgb"), factors = list(sex = c("F", "M")),
                          call = "coxph(Surv(time, status == 1) ~ age + sex + hgb, data = cr_mgus2)",
                          versions = versions, coef = unname(coef(cs)),
                          se = unname(sqrt(diag(vcov(cs)))), n = cs$n, events = cs$nevent)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE),
           "tests/reference/competing.json")
