# Reference values for survstudy's Kaplan-Meier and log-rank family.
# Run from the repository root:  Rscript tests/reference/km_logrank.R
# Writes tests/reference/km_logrank.json (and the small constructed data sets under
# tests/reference/data/km_*.csv). The R datasets are read from the CSVs exported by
# tests/reference/cox.R so that Python tests read exactly the same data.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

dd <- "tests/reference/data"
rd <- function(nm) read.csv(file.path(dd, paste0(nm, ".csv")))
lung <- rd("lung"); lung$ev <- as.integer(lung$status == 2)
aml <- rd("aml"); veteran <- rd("veteran"); ovarian <- rd("ovarian"); kidney <- rd("kidney")
aml_one <- rd("aml_one")

# Constructed sets: a median on a flat segment, a curve ending at 0.5, an all-censored group.
flat <- data.frame(time = c(1, 2, 4, 5), status = c(1, 1, 1, 1))
flat_end <- data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 0, 0))
allcens <- rbind(data.frame(time = aml$time, status = aml$status, grp = ifelse(aml$maintained == 1, "a", "b")),
                 data.frame(time = c(10, 20, 30), status = c(0, 0, 0), grp = "c"))
write.csv(flat, file.path(dd, "km_flat.csv"), row.names = FALSE)
write.csv(flat_end, file.path(dd, "km_flat_end.csv"), row.names = FALSE)
write.csv(allcens, file.path(dd, "km_allcens.csv"), row.names = FALSE)
datasets <- list(lung = lung, aml = aml, veteran = veteran, ovarian = ovarian, kidney = kidney,
                 aml_one = aml_one, km_flat = flat, km_flat_end = flat_end, km_allcens = allcens)

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))
out <- list()

km_one <- function(fit, times, probs, rmean) {
  q <- quantile(fit, probs = probs)
  s <- summary(fit, times = times, extend = TRUE)
  res <- list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
              survival = fit$surv, std_err = fit$std.err * fit$surv,
              lower = fit$lower, upper = fit$upper,
              probs = probs, q = unname(q$quantile), q_lower = unname(q$lower), q_upper = unname(q$upper),
              at_time = s$time, at_n_risk = s$n.risk, at_survival = s$surv, at_std_err = s$std.err,
              at_lower = s$lower, at_upper = s$upper)
  if (!is.null(rmean)) {
    tab <- summary(fit, rmean = rmean)$table
    res$rmean <- unname(tab["rmean"]); res$rmean_se <- unname(tab["se(rmean)"]); res$horizon <- rmean
  }
  res
}

km_fixture <- function(name, data, time, event, by = NULL, conf_type = "log-log", conf_level = 0.95,
                       times = c(0), probs = c(0.25, 0.5, 0.75), rmean = NULL, reverse = FALSE) {
  d <- datasets[[data]]
  ev <- d[[event]]; if (reverse) ev <- 1 - ev
  df <- data.frame(t = d[[time]], e = ev)
  call <- sprintf("survfit(Surv(%s, %s%s) ~ %s, data = %s, conf.type = '%s', conf.int = %s)",
                  time, if (reverse) "1 - " else "", event, if (is.null(by)) "1" else by, data,
                  conf_type, conf_level)
  groups <- list()
  if (is.null(by)) {
    fit <- survfit(Surv(t, e) ~ 1, data = df, conf.type = conf_type, conf.int = conf_level)
    groups[[1]] <- c(list(group = NA), km_one(fit, times, probs, rmean))
  } else {
    g <- d[[by]]
    for (lev in sort(unique(g))) {
      fit <- survfit(Surv(t, e) ~ 1, data = df[g == lev, ], conf.type = conf_type, conf.int = conf_level)
      groups[[length(groups) + 1]] <- c(list(group = lev), km_one(fit, times, probs, rmean))
    }
  }
  out[[name]] <<- list(kind = "km", data = data, time = time, event = event, by = by,
                       conf_type = conf_type, conf_level = conf_level, reverse = reverse,
                       times = times, call = call, versions = versions, groups = groups)
}

lr_fixture <- function(name, data, time, event, by, rho = 0, strata = NULL) {
  d <- datasets[[data]]
  df <- data.frame(t = d[[time]], e = d[[event]], g = d[[by]])
  f <- Surv(t, e) ~ g
  if (!is.null(strata)) { df$s <- d[[strata]]; f <- Surv(t, e) ~ g + strata(s) }
  df <- df[complete.cases(df), ]
  sd <- survdiff(f, data = df, rho = rho)
  n <- if (is.matrix(sd$n)) rowSums(sd$n) else as.vector(sd$n)
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df_ <- sum(sd$n > 0) - 1
  if (is.matrix(sd$n)) df_ <- length(n) - 1
  call <- sprintf("survdiff(Surv(%s, %s) ~ %s%s, data = %s, rho = %s)", time, event, by,
                  if (is.null(strata)) "" else sprintf(" + strata(%s)", strata), data, rho)
  out[[name]] <<- list(kind = "logrank", data = data, time = time, event = event, by = by,
                       strata = strata, rho = rho, call = call, versions = versions,
                       groups = sort(unique(df$g)), n = n, observed = obs, expected = ex,
                       variance = sd$var, statistic = sd$chisq, df = df_,
                       p_value = pchisq(sd$chisq, df_, lower.tail = FALSE))
}

# ---- Kaplan-Meier
for (ct in c("log-log", "log", "plain")) {
  km_fixture(paste0("km_aml_", ct), "aml", "time", "status", conf_type = ct,
             times = c(0, 12, 24, 36, 200), rmean = 40)
}
km_fixture("km_aml_loglog_90", "aml", "time", "status", conf_level = 0.90, times = c(12, 24))
km_fixture("km_aml_by", "aml", "time", "status", by = "maintained", times = c(12, 24, 36), rmean = 48)
km_fixture("km_lung", "lung", "time", "ev", times = c(0, 180, 365, 730, 1100), rmean = 730,
           probs = c(0.1, 0.25, 0.5, 0.75, 0.9))
km_fixture("km_lung_log", "lung", "time", "ev", conf_type = "log", times = c(365, 730))
km_fixture("km_lung_by_sex", "lung", "time", "ev", by = "sex", times = c(365, 730), rmean = 900)
km_fixture("km_lung_reverse", "lung", "time", "ev", reverse = TRUE, times = c(365))
km_fixture("km_aml_reverse", "aml", "time", "status", reverse = TRUE, times = c(12))
km_fixture("km_ovarian_by_rx", "ovarian", "futime", "fustat", by = "rx", times = c(365, 730, 1000),
           rmean = 1000)
km_fixture("km_veteran_by_celltype", "veteran", "time", "status", by = "celltype",
           times = c(30, 90, 180), rmean = 200)
for (ct in c("log-log", "log", "plain")) {
  km_fixture(paste0("km_flat_", ct), "km_flat", "time", "status", conf_type = ct, times = c(3, 6))
  km_fixture(paste0("km_flat_end_", ct), "km_flat_end", "time", "status", conf_type = ct, times = c(2, 9))
}
km_fixture("km_allcens_by", "km_allcens", "time", "status", by = "grp", times = c(15))
km_fixture("km_aml_one", "aml_one", "time", "status", times = c(20))

# ---- log-rank family (R: rho only; Gehan-Breslow and Tarone-Ware are checked against statsmodels)
lr_fixture("lr_aml", "aml", "time", "status", "maintained")
lr_fixture("lr_aml_rho1", "aml", "time", "status", "maintained", rho = 1)
lr_fixture("lr_aml_rho05", "aml", "time", "status", "maintained", rho = 0.5)
lr_fixture("lr_veteran_celltype", "veteran", "time", "status", "celltype")
lr_fixture("lr_veteran_celltype_rho1", "veteran", "time", "status", "celltype", rho = 1)
lr_fixture("lr_veteran_celltype_strata_trt", "veteran", "time", "status", "celltype", strata = "trt")
lr_fixture("lr_veteran_celltype_strata_trt_rho1", "veteran", "time", "status", "celltype", rho = 1, strata = "trt")
lr_fixture("lr_lung_sex", "lung", "time", "ev", "sex")
lr_fixture("lr_lung_ecog", "lung", "time", "ev", "ph.ecog")
lr_fixture("lr_lung_sex_strata_ecog", "lung", "time", "ev", "sex", strata = "ph.ecog")
lr_fixture("lr_kidney_disease_strata_sex", "kidney", "time", "status", "disease", strata = "sex")
lr_fixture("lr_ovarian_rx", "ovarian", "futime", "fustat", "rx")
lr_fixture("lr_allcens", "km_allcens", "time", "status", "grp")
lr_fixture("lr_aml_one", "aml_one", "time", "status", "maintained")

# ---- p.adjust
p <- c(0.01, 0.04, 0.03, 0.2, 0.005, 0.5, 0.04)
out[["p_adjust"]] <- list(kind = "p_adjust", call = "p.adjust(p, method)", versions = versions, p = p,
                          holm = p.adjust(p, "holm"), bh = p.adjust(p, "BH"),
                          bonferroni = p.adjust(p, "bonferroni"))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE),
           "tests/reference/km_logrank.json")
