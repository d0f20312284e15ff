# Reference values for issue 15's first-use sheet (tests/bad_inputs/cases/ok_free_text_column),
# from R's survival package.
# Run from the repository root:  Rscript tests/reference/first_use.R
# Writes tests/reference/first_use.json. Time in days from surgery to death or last contact;
# obstruct coded 1 = Yes, 0 = No with No the reference (the hazard ratio of Yes versus No),
# sex with Female the reference (the second level is Male; see the test).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv("tests/bad_inputs/cases/ok_free_text_column/data.csv", stringsAsFactors = FALSE)
s <- as.Date(d$surgery_date, "%d/%m/%Y")
lc <- as.Date(d$last_contact, "%d/%m/%Y")
dd <- as.Date(d$death_date, "%d/%m/%Y")
d$time <- as.numeric(ifelse(is.na(dd), lc - s, dd - s))
d$event <- as.integer(!is.na(dd))
d$obstruct_f <- factor(ifelse(d$obstruct == 1, "Yes", "No"), levels = c("No", "Yes"))
d$sex_f <- factor(d$sex, levels = c("Male", "Female"))
f1 <- coxph(Surv(time, event) ~ obstruct_f, data = d, ties = "efron")
f2 <- coxph(Surv(time, event) ~ sex_f, data = d, ties = "efron")
fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
km <- summary(fit)$table
q <- quantile(fit, 0.5)
# S(t) is exactly 0.5 from 893 days to the last observation (1541): quantile.survfit takes
# the midpoint (1217), print.survfit's table the first time (893); survstudy follows
# quantile.survfit (src/survstudy/stats/km.py)
# profile-likelihood 95% CI of the obstruct coefficient (Venzon and Moolgavkar): the
# coefficients where 2 (l(b_hat) - l(b)) = qchisq(0.95, 1), l from coxph with the coefficient
# fixed (init = b, iter.max = 0)
pl <- function(b) coxph(Surv(time, event) ~ obstruct_f, data = d, ties = "efron",
                        init = b, control = coxph.control(iter.max = 0))$loglik[2]
lmax <- f1$loglik[2]; bhat <- unname(coef(f1)); crit <- qchisq(0.95, 1)
g <- function(b) 2 * (lmax - pl(b)) - crit
prof <- exp(c(uniroot(g, c(bhat - 10, bhat), tol = 1e-12)$root,
              uniroot(g, c(bhat, bhat + 10), tol = 1e-12)$root))
out <- list(
  os_km = list(call = "quantile(survfit(Surv(time, event) ~ 1, conf.type = 'log-log'), 0.5); days",
               n = unname(km["records"]), events = unname(km["events"]),
               median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
               print_median = unname(km["median"])),
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  obstruct = list(call = "coxph(Surv(time, event) ~ factor(obstruct, c('No','Yes')))",
                  hr_yes_vs_no = unname(exp(coef(f1))),
                  ci = unname(exp(confint(f1))[1, ]),
                  profile_ci = prof),
  sex = list(call = "coxph(Surv(time, event) ~ factor(sex, c('Male','Female')))",
             hr_female_vs_male = unname(exp(coef(f2))))
)
write_json(out, "tests/reference/first_use.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
