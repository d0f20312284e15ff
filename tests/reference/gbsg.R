# Reference values for the GBSG example (examples/gbsg/), from R's survival package.
# Run from the repository root:  Rscript tests/reference/gbsg.R
# Writes examples/gbsg/gbsg.csv (the data as R ships it) and tests/reference/gbsg.json.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
data(cancer, package = "survival")
d <- gbsg
write.csv(d, "examples/gbsg/gbsg.csv", row.names = FALSE)

month <- 30.4375
out <- list(
  meta = list(
    R = R.version.string,
    survival = as.character(packageVersion("survival")),
    data = "survival::gbsg (686 patients, German Breast Cancer Study Group trial, Royston & Altman 2013)",
    script = "tests/reference/gbsg.R"
  )
)

# Kaplan-Meier of recurrence-free survival, overall and by hormonal therapy; times in months.
km_summary <- function(fit, times) {
  s <- summary(fit, times = times, extend = TRUE)
  tab <- summary(fit)$table
  list(
    call = paste(deparse(fit$call), collapse = " "),
    n = unname(if (is.matrix(tab)) tab[, "n.max"] else tab["n.max"]),
    events = unname(if (is.matrix(tab)) tab[, "events"] else tab["events"]),
    median = unname(if (is.matrix(tab)) tab[, "median"] else tab["median"]),
    median_lower = unname(if (is.matrix(tab)) tab[, "0.95LCL"] else tab["0.95LCL"]),
    median_upper = unname(if (is.matrix(tab)) tab[, "0.95UCL"] else tab["0.95UCL"]),
    at_time = s$time, at_strata = if (is.null(s$strata)) NULL else as.character(s$strata),
    at_n_risk = s$n.risk, at_survival = s$surv, at_lower = s$lower, at_upper = s$upper,
    at_std_err = s$std.err
  )
}
d$rfs_months <- d$rfstime / month
out$km_overall <- km_summary(survfit(Surv(rfs_months, status) ~ 1, data = d, conf.type = "log-log"),
                             c(12, 36, 60))
out$km_hormon <- km_summary(survfit(Surv(rfs_months, status) ~ hormon, data = d, conf.type = "log-log"),
                            c(12, 36, 60))
# Reverse Kaplan-Meier median follow-up
rev <- survfit(Surv(rfs_months, 1 - status) ~ 1, data = d, conf.type = "log-log")
rt <- summary(rev)$table
out$followup <- list(call = "survfit(Surv(rfs_months, 1 - status) ~ 1, conf.type='log-log')",
                     median = unname(rt["median"]), lower = unname(rt["0.95LCL"]),
                     upper = unname(rt["0.95UCL"]))

lr <- survdiff(Surv(rfstime, status) ~ hormon, data = d)
out$logrank_hormon <- list(call = "survdiff(Surv(rfstime, status) ~ hormon)", chisq = lr$chisq,
                           df = length(lr$n) - 1,
                           p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE),
                           observed = lr$obs, expected = lr$exp, n = as.numeric(lr$n))
lrg <- survdiff(Surv(rfstime, status) ~ grade, data = d)
out$logrank_grade <- list(call = "survdiff(Surv(rfstime, status) ~ grade)", chisq = lrg$chisq,
                          df = length(lrg$n) - 1,
                          p = pchisq(lrg$chisq, length(lrg$n) - 1, lower.tail = FALSE))

cox_summary <- function(fit) {
  s <- summary(fit)
  z <- cox.zph(fit, transform = "km")
  list(call = paste(deparse(fit$call), collapse = " "), terms = rownames(s$coefficients),
       coef = unname(s$coefficients[, "coef"]), se = unname(s$coefficients[, "se(coef)"]),
       hr = unname(s$conf.int[, "exp(coef)"]), lower = unname(s$conf.int[, "lower .95"]),
       upper = unname(s$conf.int[, "upper .95"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       loglik = fit$loglik, n = fit$n, events = fit$nevent,
       lr = unname(s$logtest["test"]), wald = unname(s$waldtest["test"]),
       score = unname(s$sctest["test"]),
       concordance = unname(fit$concordance["concordance"]),
       concordance_se = unname(sqrt(fit$concordance["var"])),
       zph_chisq = unname(z$table[, "chisq"]), zph_p = unname(z$table[, "p"]),
       zph_rows = rownames(z$table))
}
d$grade_f <- factor(d$grade)
d$meno_f <- factor(d$meno)
d$hormon_f <- factor(d$hormon)
uni <- list()
for (v in c("age", "size", "nodes", "pgr", "er", "meno_f", "grade_f", "hormon_f")) {
  f <- as.formula(paste("Surv(rfstime, status) ~", v))
  uni[[v]] <- cox_summary(coxph(f, data = d, ties = "efron"))
}
out$univariable <- uni
out$multivariable <- cox_summary(coxph(Surv(rfstime, status) ~ hormon_f + age + meno_f + size +
                                         grade_f + nodes + pgr + er, data = d, ties = "efron"))
out$multivariable_breslow <- cox_summary(coxph(Surv(rfstime, status) ~ hormon_f + age + meno_f + size +
                                                 grade_f + nodes + pgr + er, data = d, ties = "breslow"))

# Table 1 (type-7 quantiles)
q <- function(x) unname(quantile(x, c(0, .25, .5, .75, 1), type = 7))
out$table1 <- list(age = q(d$age), size = q(d$size), nodes = q(d$nodes), pgr = q(d$pgr), er = q(d$er),
                   meno = as.numeric(table(d$meno)), grade = as.numeric(table(d$grade)),
                   hormon = as.numeric(table(d$hormon)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/gbsg.json")
