# Reference values for issue 22's study-run items that reviewer.R does not cover:
#   rmst_tau    the RMST difference of survival::gbsg's RFS by hormonal therapy at a horizon
#               other than the last landmark (analyses.survival.rmst_tau: 48 months), and the
#               survival differences at 12/36/60 months (unchanged by tau)
# Run from the repository root:  Rscript tests/reference/issue22.R
# Reads tests/reference/data/gbsg.csv (written by reviewer.R); writes tests/reference/issue22.json.
# survRM2 is not installed here: the per-group restricted mean and its SE are R's
# print(survfit(...), rmean = tau) (Klein & Moeschberger's variance); the difference is
# survRM2's unadjusted formula (independent groups, Wald CI and two-sided p) written out.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
gbsg <- read.csv("tests/reference/data/gbsg.csv")
month <- 30.4375
z975 <- qnorm(0.975)
df <- data.frame(t = gbsg$rfstime / month, e = gbsg$status, g = gbsg$hormon)
tau <- 48
per <- lapply(c(reference = 0, group = 1), function(lev) {
  f <- survfit(Surv(t, e) ~ 1, data = df[df$g == lev, ], conf.type = "log-log")
  tab <- summary(f, rmean = tau)$table
  list(rmean = unname(tab["rmean"]), rmean_se = unname(tab["se(rmean)"]),
       last_time = max(f$time))
})
d <- per$group$rmean - per$reference$rmean
se <- sqrt(per$group$rmean_se^2 + per$reference$rmean_se^2)
out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              script = "tests/reference/issue22.R"),
  rmst_tau = list(
    call = paste("summary(survfit(Surv(rfstime / 30.4375, status) ~ 1, subset = hormon == g),",
                 "rmean = 48)$table (= print(fit, rmean = 48)); difference = hormon 1 minus 0"),
    tau = tau, per_group = per,
    difference = d, std_err = se, lower = d - z975 * se, upper = d + z975 * se,
    p_value = 2 * pnorm(-abs(d / se))))
write_json(out, "tests/reference/issue22.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
