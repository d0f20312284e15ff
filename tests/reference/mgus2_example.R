# Reference values for the competing-risks example (examples/mgus2/), from R's cmprsk and
# survival packages: what `survstudy run examples/mgus2/study.yaml` must report.
# Run from the repository root:  Rscript tests/reference/mgus2_example.R
# Reads examples/mgus2/mgus2.csv (written by tests/reference/competing.R as
# tests/reference/data/cr_mgus2.csv: survival::mgus2 arranged as in the survival package's
# "compete" vignette), checks that it is that data, and writes tests/reference/mgus2_example.json.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
data(cancer, package = "survival")

# Progression to a plasma-cell malignancy (PCM) is the event (status 1); death without
# progression the competing event (2); otherwise censored at last follow-up (0). Whole months.
d <- read.csv("examples/mgus2/mgus2.csv", stringsAsFactors = FALSE)
mg <- mgus2
stopifnot(nrow(d) == nrow(mg),
          all(d$time == ifelse(mg$pstat == 0, mg$futime, mg$ptime)),
          all(d$status == ifelse(mg$pstat == 0, 2 * mg$death, 1)),
          all(d$sex == as.character(mg$sex)),
          isTRUE(all.equal(d$age, as.vector(mg$age), check.attributes = FALSE, tolerance = 0)),
          isTRUE(all.equal(d$hgb, as.vector(mg$hgb), check.attributes = FALSE, tolerance = 0)),
          isTRUE(all.equal(d$mspike, as.vector(mg$mspike), check.attributes = FALSE,
                           tolerance = 0)))
d$months <- d$time
d$sexf <- factor(d$sex, levels = c("F", "M"))
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 cmprsk = as.character(packageVersion("cmprsk")))
out <- list(meta = list(versions = versions, script = "tests/reference/mgus2_example.R",
                        data = "survival::mgus2 (1384 patients with MGUS, Kyle et al. 2002)",
                        status = "1 = progression (PCM), 2 = death without progression, 0 = censored"))
landmarks <- c(12, 60, 120, 240)
ci_loglog <- function(est, var) {
  r <- survival:::survfit_confint(est, sqrt(var), logse = FALSE, conf.type = "log-log",
                                  conf.int = 0.95)
  list(lower = r$lower, upper = r$upper)
}

# --- cumulative incidence at the landmarks, overall ------------------------------------------------
ci <- cuminc(d$months, d$status, cencode = 0)
tp <- timepoints(ci, landmarks)
ms <- summary(survfit(Surv(months, factor(status, levels = 0:2)) ~ 1, data = d), times = landmarks)
km <- summary(survfit(Surv(months, status == 1) ~ 1, data = d), times = landmarks)
cif_at <- function(key) {
  est <- unname(tp$est[key, ]); var <- unname(tp$var[key, ])
  c(list(est = est, var = var), ci_loglog(est, var))
}
out$cif <- list(
  call = "cuminc(months, status, cencode = 0); timepoints(fit, c(12, 60, 120, 240))",
  ci_call = "survival:::survfit_confint(est, sqrt(var), logse = FALSE, conf.type = 'log-log')",
  times = landmarks, event = cif_at("1 1"), competing = cif_at("1 2"),
  n_risk = ms$n.risk[, 1], n_risk_call = "summary(survfit(Surv(months, factor(status)) ~ 1), times)$n.risk",
  pstate_event = ms$pstate[, 2], pstate_competing = ms$pstate[, 3],
  one_minus_km = 1 - km$surv, km_call = "survfit(Surv(months, status == 1) ~ 1)",
  n = nrow(d), events = sum(d$status == 1), competing_events = sum(d$status == 2))

# --- by sex: curves at the landmarks and Gray's test ------------------------------------------------
cs <- cuminc(d$months, d$status, group = d$sex, cencode = 0)
tps <- timepoints(cs, landmarks)
by_sex <- list()
for (s in c("F", "M")) {
  sub <- d[d$sex == s, ]
  msg <- summary(survfit(Surv(months, factor(status, levels = 0:2)) ~ 1, data = sub),
                 times = landmarks)
  by_sex[[s]] <- list(event = unname(tps$est[paste(s, 1), ]),
                      competing = unname(tps$est[paste(s, 2), ]),
                      n_risk = msg$n.risk[, 1], n = nrow(sub),
                      events = sum(sub$status == 1), competing_events = sum(sub$status == 2))
}
tt <- cs$Tests
out$by_sex <- list(call = "cuminc(months, status, group = sex, cencode = 0)", times = landmarks,
                   groups = by_sex,
                   gray = list(statistic = unname(tt["1", "stat"]), df = unname(tt["1", "df"]),
                               p_value = pchisq(tt["1", "stat"], tt["1", "df"], lower.tail = FALSE)),
                   gray_competing = list(statistic = unname(tt["2", "stat"]),
                                         df = unname(tt["2", "df"]),
                                         p_value = pchisq(tt["2", "stat"], tt["2", "df"],
                                                          lower.tail = FALSE)))

# --- Fine-Gray (crr) and cause-specific Cox (coxph, Efron) ----------------------------------------
# crr stops at max|score| * max(|b|, 1) < 1e-6 * max(|loglik|, 1), ~1e-6 (relative) from the
# maximum; the "tight" values are Newton steps solve(inf, score) from crr's estimate with crr's
# own score and information (crr(init = b, maxiter = 0)) until the step is below 1e-13.
crr_ref <- function(formula) {
  mf <- model.frame(formula, data = d, na.action = na.omit)
  dd <- d[rownames(mf), ]
  x <- model.matrix(formula, data = dd)[, -1, drop = FALSE]
  fit <- crr(dd$months, dd$status, cov1 = x, failcode = 1, cencode = 0)
  b <- fit$coef
  for (k in 1:10) {
    at <- crr(dd$months, dd$status, cov1 = x, failcode = 1, cencode = 0, init = b, maxiter = 0)
    step <- solve(at$inf, at$score)
    b <- b + step
    if (max(abs(step) / pmax(abs(b), 1)) < 1e-13) break
  }
  tight <- crr(dd$months, dd$status, cov1 = x, failcode = 1, cencode = 0, init = b, maxiter = 0)
  se <- sqrt(diag(tight$var))
  z <- b / se
  cx <- coxph(update(formula, Surv(months, status == 1) ~ .), data = dd, ties = "efron")
  csse <- sqrt(diag(vcov(cx)))
  list(call = sprintf("crr(months, status, cov1 = model.matrix(%s)[, -1], failcode = 1, cencode = 0)",
                      deparse(formula)),
       cox_call = sprintf("coxph(Surv(months, status == 1) ~ %s, ties = 'efron')",
                          deparse(formula[[2]])),
       terms = colnames(x), n = nrow(dd), crr_coef = unname(fit$coef),
       coef = unname(b), se = unname(se), shr = unname(exp(b)),
       lower = unname(exp(b - qnorm(0.975) * se)), upper = unname(exp(b + qnorm(0.975) * se)),
       p_value = unname(2 * pnorm(-abs(z))),
       cs_coef = unname(coef(cx)), cs_se = unname(csse), cs_hr = unname(exp(coef(cx))),
       cs_p_value = unname(2 * pnorm(-abs(coef(cx) / csse))), cs_events = cx$nevent)
}
out$univariable <- list(sex = crr_ref(~ sexf), age = crr_ref(~ age), hgb = crr_ref(~ hgb),
                        mspike = crr_ref(~ mspike))
out$multivariable <- crr_ref(~ age + sexf + hgb + mspike)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
           "tests/reference/mgus2_example.json")
