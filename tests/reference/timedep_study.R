# Reference values for the study run's time-dependent analyses (issue 19): a study spec with
# `time_dependent: {from: tx_date}` and `analyses.landmark` on the Stanford heart transplant data.
# Run from the repository root:  Rscript tests/reference/timedep_study.R
# Writes tests/reference/data/jasa_dates.csv (the spreadsheet the study reads) and
# tests/reference/timedep_study.json.
#
# Data: survival::jasa, one row per patient with its dates (acceptance, transplant, last follow-up,
# death). Durations are whole days between dates, as the study run derives them (no half-day
# adjustments, unlike the survival vignette and tests/reference/timedep.R): futime = fu.date -
# accept.dt; txtime = tx.date - accept.dt. The one patient with futime 0 contributes no interval to
# the split data (coxph needs start < stop) and is left out there; tmerge's tdc() puts a transplant
# on the day of the last follow-up after the end of follow-up (never exposed), one on the day of
# acceptance from the start. Every fixture records its R call.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 jsonlite = as.character(packageVersion("jsonlite")))
js <- jasa
iso <- function(x) ifelse(is.na(x), "", format(x, "%Y-%m-%d"))
sheet <- data.frame(
  id = sprintf("P%03d", seq_len(nrow(js))),
  accept_date = iso(js$accept.dt), tx_date = iso(js$tx.date), last_fu = iso(js$fu.date),
  death_date = ifelse(js$fustat == 1, iso(js$fu.date), ""),
  age = sprintf("%.6f", js$age), surgery = js$surgery)
write.csv(sheet, "tests/reference/data/jasa_dates.csv", row.names = FALSE, quote = FALSE)

d <- data.frame(id = seq_len(nrow(js)), futime = as.numeric(js$fu.date - js$accept.dt),
                status = js$fustat, txtime = as.numeric(js$tx.date - js$accept.dt),
                age = round(js$age, 6), surgery = js$surgery)
d$transplant <- as.integer(!is.na(d$txtime))
call_of <- function(fit) paste(deparse(fit$call), collapse = " ")
cox_rows <- function(fit) {
  s <- summary(fit)
  list(call = call_of(fit), n = fit$n, events = fit$nevent, coef = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))), p = unname(s$coefficients[, "Pr(>|z|)"]),
       lower = unname(s$conf.int[, "lower .95"]), upper = unname(s$conf.int[, "upper .95"]),
       loglik = fit$loglik)
}

# naive: transplant (ever) as a baseline group -- what the IMMORTAL-TIME guard flags
naive_cox <- coxph(Surv(futime, status) ~ transplant, data = d)
naive_lr <- survdiff(Surv(futime, status) ~ transplant, data = d)
naive <- c(cox_rows(naive_cox), list(
  logrank_call = call_of(naive_lr), logrank_chisq = naive_lr$chisq,
  logrank_p = pchisq(naive_lr$chisq, 1, lower.tail = FALSE),
  n_after_start = sum(!is.na(d$txtime) & d$txtime > 0)))

# time-dependent: the follow-up split at the transplant
dd <- subset(d, futime > 0)
sd <- tmerge(dd[, c("id", "age", "surgery")], dd, id = id, death = event(futime, status),
             trt = tdc(txtime))
uni <- coxph(Surv(tstart, tstop, death) ~ trt, data = sd)
multi <- coxph(Surv(tstart, tstop, death) ~ age + surgery + trt, data = sd)
exact <- coxph(Surv(tstart, tstop, death) ~ trt, data = sd, ties = "exact")
sm <- survfit(Surv(tstart, tstop, death) ~ trt, data = sd, conf.type = "log-log")
sm_times <- c(0, 30, 100, 365, 1000)
at_risk <- sapply(c(0, 1), function(g) sapply(sm_times, function(t)
  sum(sd$tstart < t & t <= sd$tstop & sd$trt == g)))
tdep <- list(
  split_call = "tmerge(dd[, c('id','age','surgery')], dd, id = id, death = event(futime, status), trt = tdc(txtime)); dd = subset(d, futime > 0)",
  n_patients = nrow(dd), n_intervals = nrow(sd),
  univariable = cox_rows(uni), multivariable = cox_rows(multi),
  mantel_byar = list(call = call_of(exact), score = unname(exact$score),
                     p_value = pchisq(unname(exact$score), 1, lower.tail = FALSE)),
  simon_makuch = list(call = call_of(sm), strata = unname(sm$strata), time = sm$time,
                      surv = sm$surv, lower = sm$lower, upper = sm$upper, times = sm_times,
                      n_risk = at_risk,  # times x (trt 0, trt 1): sum(tstart < t & t <= tstop)
                      medians = as.vector(quantile(sm, probs = 0.5)$quantile)))

# landmarks (days): patients with futime > at, grouped by a transplant on or before it
landmark_at <- function(at) {
  l <- subset(d, futime > at)
  l$grp <- as.integer(!is.na(l$txtime) & l$txtime <= at)
  l$t <- l$futime - at
  km <- survfit(Surv(t, status) ~ grp, data = l, conf.type = "log-log")
  lr <- survdiff(Surv(t, status) ~ grp, data = l)
  cx <- coxph(Surv(t, status) ~ grp, data = l)
  c(list(at = at, n = nrow(l), excluded = nrow(d) - nrow(l),
         n_per_group = as.vector(table(factor(l$grp, levels = 0:1))),
         events_per_group = as.vector(tapply(l$status, factor(l$grp, levels = 0:1), sum)),
         km_call = call_of(km), km_strata = unname(km$strata), km_time = km$time,
         km_surv = km$surv, km_medians = as.vector(quantile(km, probs = 0.5)$quantile),
         logrank_chisq = lr$chisq, logrank_p = pchisq(lr$chisq, 1, lower.tail = FALSE)),
    list(cox = cox_rows(cx)))
}
landmark <- list(landmark_at(30), landmark_at(90))

out <- c(versions, list(data = "tests/reference/data/jasa_dates.csv", naive = naive,
                        time_dependent = tdep, landmark = landmark))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/timedep_study.json")
