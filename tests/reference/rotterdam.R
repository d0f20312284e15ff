# Reference values for issue 17's spec constructs on R's survival::rotterdam (2982 patients):
# relapse-free survival as the composite of two duration/status pairs (rtime/recur, dtime/death),
# censored at 84 months; a conservative RFS from derived variables; log(pgr + 1) and a node group
# written with if_else in the spec. Run from the repository root:
#   Rscript tests/reference/rotterdam.R
# Writes tests/reference/data/rotterdam.csv (the data as R ships it) and tests/reference/rotterdam.json.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- rotterdam
write.csv(d, "tests/reference/data/rotterdam.csv", row.names = FALSE)

month <- 30.4375
horizon <- 84 * month          # 84 months in days: 2556.75
out <- list(meta = list(
  R = R.version.string, survival = as.character(packageVersion("survival")),
  data = "survival::rotterdam (2982 patients, Rotterdam tumour bank; Royston & Altman 2013)",
  script = "tests/reference/rotterdam.R"))

# Composite RFS, the issue's rule: earliest time among the components whose event happened,
# else censored at the latest component time (this is the help page's "liberal" definition:
# the 43 patients with recur = 0, death = 1, rtime < dtime count their death)
ev_r <- ifelse(d$recur == 1, d$rtime, NA)
ev_d <- ifelse(d$death == 1, d$dtime, NA)
ev <- pmin(ev_r, ev_d, na.rm = TRUE)
t_rfs <- ifelse(is.na(ev), pmax(d$rtime, d$dtime), ev)
s_rfs <- ifelse(is.na(ev), 0, 1)
stopifnot(all(t_rfs == ifelse(d$recur == 1, d$rtime, d$dtime)), all(s_rfs == pmax(d$recur, d$death)))
# components that disagree: censored before another component's event
cmin <- pmin(ifelse(d$recur == 0, d$rtime, NA), ifelse(d$death == 0, d$dtime, NA), na.rm = TRUE)
out$disagree_rows <- which(!is.na(ev) & !is.na(cmin) & cmin < ev) + 1   # spreadsheet rows (header = 1)
# administrative censoring at 84 months
d$rfs <- ifelse(t_rfs > horizon, 0, s_rfs)
d$rfs_days <- pmin(t_rfs, horizon)
# conservative RFS (the help page's rfs2) from derived variables, also censored at 84 months
ignore <- d$recur == 0 & d$death == 1 & d$rtime < d$dtime
t2 <- ifelse(ignore, d$rtime, ifelse(d$recur == 1, d$rtime, d$dtime))
s2 <- ifelse(ignore, 0, pmax(d$recur, d$death))
d$rfs2 <- ifelse(t2 > horizon, 0, s2)
d$rfs2_days <- pmin(t2, horizon)

d$log_pgr <- log(d$pgr + 1)
d$node_group <- factor(ifelse(d$nodes >= 4, "4+", ifelse(d$nodes >= 1, "1-3", "0")),
                       levels = c("0", "1-3", "4+"))
d$meno_f <- factor(d$meno)
d$grade_f <- factor(d$grade)
d$hormon_f <- factor(d$hormon)
d$chemo_f <- factor(d$chemo)

km_summary <- function(fit, times) {
  s <- summary(fit, times = times, extend = TRUE)
  tab <- summary(fit)$table
  pick <- function(k) unname(if (is.matrix(tab)) tab[, k] else tab[k])
  list(call = paste(deparse(fit$call), collapse = " "), n = pick("n.max"), events = pick("events"),
       median = pick("median"), at_time = s$time,
       at_strata = if (is.null(s$strata)) NULL else as.character(s$strata),
       at_n_risk = s$n.risk, at_survival = s$surv, at_lower = s$lower, at_upper = s$upper)
}
d$rfs_months <- d$rfs_days / month
d$rfs2_months <- d$rfs2_days / month
out$km_rfs <- km_summary(survfit(Surv(rfs_months, rfs) ~ 1, data = d, conf.type = "log-log"),
                         c(12, 36, 60, 84))
out$km_rfs2 <- km_summary(survfit(Surv(rfs2_months, rfs2) ~ 1, data = d, conf.type = "log-log"),
                          c(12, 36, 60, 84))
out$km_rfs_nodes <- km_summary(survfit(Surv(rfs_months, rfs) ~ node_group, data = d,
                                       conf.type = "log-log"), c(12, 36, 60, 84))
lr <- survdiff(Surv(rfs_days, rfs) ~ node_group, data = d)
out$logrank_nodes <- list(call = "survdiff(Surv(rfs_days, rfs) ~ node_group)", chisq = lr$chisq,
                          p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE))

cox_summary <- function(fit) {
  s <- summary(fit)
  list(call = paste(deparse(fit$call), collapse = " "), terms = rownames(s$coefficients),
       coef = unname(s$coefficients[, "coef"]), se = unname(s$coefficients[, "se(coef)"]),
       hr = unname(s$conf.int[, "exp(coef)"]), lower = unname(s$conf.int[, "lower .95"]),
       upper = unname(s$conf.int[, "upper .95"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       n = fit$n, events = fit$nevent, lr = unname(s$logtest["test"]))
}
uni <- list()
for (v in c("age", "log_pgr", "node_group", "grade_f")) {
  uni[[v]] <- cox_summary(coxph(as.formula(paste("Surv(rfs_days, rfs) ~", v)), data = d,
                                ties = "efron"))
}
out$univariable <- uni
out$multivariable <- cox_summary(coxph(Surv(rfs_days, rfs) ~ age + meno_f + size + grade_f +
                                         node_group + log_pgr + hormon_f + chemo_f,
                                       data = d, ties = "efron"))
out$multivariable_rfs2 <- cox_summary(coxph(Surv(rfs2_days, rfs2) ~ age + meno_f + size + grade_f +
                                              node_group + log_pgr + hormon_f + chemo_f,
                                            data = d, ties = "efron"))

# Table 1 (type-7 quantiles; counts per level). age_decade is the spec's round(age / 10), half away
# from zero: trunc(x + 0.5) for x > 0 (R's round() goes half to even: round(4.5) = 4)
q <- function(x) unname(quantile(x, c(0, .25, .5, .75, 1), type = 7))
out$table1 <- list(age = q(d$age), log_pgr = q(d$log_pgr), age_decade = as.numeric(table(trunc(d$age / 10 + 0.5))),
                   meno = as.numeric(table(d$meno)), size = as.numeric(table(d$size)),
                   grade = as.numeric(table(d$grade)), node_group = as.numeric(table(d$node_group)),
                   hormon = as.numeric(table(d$hormon)), chemo = as.numeric(table(d$chemo)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/rotterdam.json")
