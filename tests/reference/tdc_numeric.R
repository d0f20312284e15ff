# Reference values for a numeric time-dependent covariate from a long table of measurements
# (issue 19, item 2: "a numeric time_dependent value from a long table ... tdc(time, value)").
# Run from the repository root:  Rscript tests/reference/tdc_numeric.R
# Writes tests/reference/data/pbcseq_base.csv (one row per patient), tests/reference/data/pbcseq_labs.csv
# (one row per measurement: id, day, bili, albumin), the same as a study's spreadsheets with dates
# (tests/reference/data/pbcseq_study.csv, pbcseq_study_labs.csv) and tests/reference/tdc_numeric.json.
#
# Data: survival::pbcseq (Mayo PBC, 312 trial patients, 1945 visits with serum bilirubin and albumin
# by day since enrolment). Outcome: death (status 2; transplant 1 and alive 0 are censored), as in
# the survival package's vignette "Using time dependent covariates", sec. 3.2. To exercise every
# rule of tdc(time, value), the measurement table is changed on purpose:
#   * patients with id %% 7 == 0 lose their day-0 visit: before their first later measurement the
#     value is missing (tmerge's default init NA), and coxph leaves those intervals out (na.omit);
#   * of these, the even ids get a visit at day -30 (before the start: holds from the start);
#   * patients with id %% 11 == 0 get an extra visit on the day of their last follow-up (at the end
#     of follow-up: no cut, no effect).
# The value on (tstart, tstop] is the last measurement at or before tstart (carried forward).
# Every fixture records its R call.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

dir.create("tests/reference/data", showWarnings = FALSE)
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 jsonlite = as.character(packageVersion("jsonlite")))

s <- pbcseq
base <- s[!duplicated(s$id), c("id", "futime", "status", "age")]
base$death <- as.integer(base$status == 2)
base <- base[, c("id", "futime", "death", "age")]
labs <- s[, c("id", "day", "bili", "albumin")]
labs <- labs[!(labs$id %% 7 == 0 & labs$day == 0), ]
early <- base[base$id %% 14 == 0, "id"]
first <- s[s$id %in% early & s$day == 0, c("id", "bili", "albumin")]
labs <- rbind(labs, data.frame(id = first$id, day = -30, bili = first$bili, albumin = first$albumin))
late <- base[base$id %% 11 == 0, ]
labs <- rbind(labs, data.frame(id = late$id, day = late$futime, bili = 99, albumin = 1))
labs <- labs[order(labs$id, labs$day), ]
write.csv(base, "tests/reference/data/pbcseq_base.csv", row.names = FALSE)
write.csv(labs, "tests/reference/data/pbcseq_labs.csv", row.names = FALSE)
# the same data as a study reads them: dates (enrolment made up, one every 3 days from
# 1990-01-01; every duration in whole days exactly as above) and a sheet of lab results
enrol <- as.Date("1990-01-01") + 3 * base$id
iso <- function(x) format(x, "%Y-%m-%d")
sheet <- data.frame(id = sprintf("PBC%03d", base$id), enrol_date = iso(enrol),
                    last_fu = iso(enrol + base$futime),
                    death_date = ifelse(base$death == 1, iso(enrol + base$futime), ""),
                    age = sprintf("%.6f", base$age))
lab_sheet <- data.frame(id = sprintf("PBC%03d", labs$id),
                        lab_date = iso(enrol[match(labs$id, base$id)] + labs$day),
                        bili = labs$bili, albumin = labs$albumin)
stopifnot(all(as.numeric(as.Date(lab_sheet$lab_date) - enrol[match(labs$id, base$id)]) == labs$day))
write.csv(sheet, "tests/reference/data/pbcseq_study.csv", row.names = FALSE, quote = FALSE)
write.csv(lab_sheet, "tests/reference/data/pbcseq_study_labs.csv", row.names = FALSE, quote = FALSE)

split_call <- paste(
  "sd <- tmerge(base, base, id = id, death = event(futime, death));",
  "sd <- tmerge(sd, labs, id = id, bili = tdc(day, bili), albumin = tdc(day, albumin))")
sd <- tmerge(base, base, id = id, death = event(futime, death))
sd <- tmerge(sd, labs, id = id, bili = tdc(day, bili), albumin = tdc(day, albumin))

call_of <- function(fit) paste(deparse(fit$call), collapse = " ")
cox_rows <- function(fit) {
  s <- summary(fit)
  list(call = call_of(fit), ties = fit$method, n = fit$n, events = fit$nevent,
       coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
       p = unname(s$coefficients[, "Pr(>|z|)"]), loglik = fit$loglik,
       n_dropped = length(fit$na.action))
}
fits <- list(
  univariable = cox_rows(coxph(Surv(tstart, tstop, death) ~ bili, data = sd)),
  univariable_breslow = cox_rows(coxph(Surv(tstart, tstop, death) ~ bili, data = sd,
                                       ties = "breslow")),
  multivariable = cox_rows(coxph(Surv(tstart, tstop, death) ~ age + bili + albumin, data = sd))
)
out <- c(versions, list(
  data = list(base = "tests/reference/data/pbcseq_base.csv",
              labs = "tests/reference/data/pbcseq_labs.csv",
              study = "tests/reference/data/pbcseq_study.csv",
              study_labs = "tests/reference/data/pbcseq_study_labs.csv"),
  split_call = split_call,
  n_patients = nrow(base), n_measurements = nrow(labs), n_intervals = nrow(sd),
  n_missing_intervals = sum(is.na(sd$bili)),
  tstart = sd$tstart, tstop = sd$tstop, bili = sd$bili,
  fits = fits))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/reference/tdc_numeric.json")
