# Reference values for survstudy's counting-process (start, stop] analyses: Cox with time-dependent
# covariates, Kaplan–Meier with delayed entry, Simon–Makuch curves, the Mantel–Byar test, tmerge
# splitting, a landmark analysis and the naive (immortal-time biased) comparison.
# Run from the repository root:  Rscript tests/reference/timedep.R
# Writes tests/reference/data/{heart,jasa_tdata,mgus2_age,mono_cp}.csv and tests/reference/timedep.json.
#
# Data: the Stanford heart transplant data as R ships them — survival::heart (already in (start, stop]
# form) and survival::jasa (one row per patient, with dates), prepared as in the survival package's
# vignette "Using time dependent covariates" (futime at least 0.5 day; a transplant on the day of the
# last follow-up moved half a day earlier); delayed entry: survival::mgus2 on the age scale in months
# (entry = age x 12, exit = entry + futime; complete hgb and creat). Every fixture records its R call.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

dir.create("tests/reference/data", showWarnings = FALSE)
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 jsonlite = as.character(packageVersion("jsonlite")))

# ---------------------------------------------------------------- data
h <- heart
h$transplant <- as.integer(as.character(h$transplant))
h$wt <- 1 + (h$id %% 3) / 2          # made-up case weights for a weighted fit
write.csv(h, "tests/reference/data/heart.csv", row.names = FALSE)

js <- jasa
tdata <- with(js, data.frame(
  subject = seq_len(nrow(js)),
  futime = pmax(0.5, as.numeric(fu.date - accept.dt)),
  txtime = ifelse(!is.na(tx.date) & tx.date == fu.date,
                  as.numeric(tx.date - accept.dt) - 0.5, as.numeric(tx.date - accept.dt)),
  fustat = fustat,
  age = age - 48,
  year = as.numeric(accept.dt - as.Date("1967-10-01")) / 365.25,
  surgery = surgery,
  transplant = transplant))
write.csv(tdata, "tests/reference/data/jasa_tdata.csv", row.names = FALSE, na = "")

mg <- mgus2[!is.na(mgus2$hgb) & !is.na(mgus2$creat), ]
la <- data.frame(entry = mg$age * 12L, exit = mg$age * 12L + mg$futime, death = mg$death,
                 male = as.integer(mg$sex == "M"), hgb = mg$hgb, creat = mg$creat)
write.csv(la, "tests/reference/data/mgus2_age.csv", row.names = FALSE)

# monotone likelihood in counting-process form: every death happens in an exposed interval
mono <- data.frame(
  id = c(1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 8),
  start = c(0, 2, 0, 1, 0, 4, 0, 0, 0, 0, 5, 0),
  stop = c(2, 6, 1, 9, 4, 7, 10, 8, 12, 5, 11, 3),
  event = c(0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0),
  x = c(0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0))
write.csv(mono, "tests/reference/data/mono_cp.csv", row.names = FALSE)

sets <- list(heart = h, mgus2_age = la, mono_cp = mono)

# ---------------------------------------------------------------- Cox fits
keep_warnings <- function(expr) {
  msgs <- character(0)
  val <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning")
  })
  list(value = val, warnings = msgs)
}

cox_fixture <- function(name, data, formula, ties = "efron", covariates, strata = NULL,
                        cluster = NULL, weights = NULL, zph = TRUE,
                        start = "start", stop = "stop", event = "event") {
  d <- if (is.character(data)) sets[[data]] else data
  environment(formula) <- environment()
  res <- keep_warnings(if (!is.null(weights)) {
    d$.w <- d[[weights]]
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), weights = .w, x = TRUE, model = TRUE)))
  } else {
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), x = TRUE, model = TRUE)))
  })
  fit <- res$value
  z <- if (zph) tryCatch(cox.zph(fit, transform = "km"), error = function(e) NULL) else NULL
  cc <- concordance(fit)
  bh <- basehaz(fit, centered = FALSE)
  list(
    name = name, data = if (is.character(data)) data else NULL,
    call = paste(deparse(fit$call), collapse = " "), formula = paste(deparse(formula), collapse = " "),
    ties = ties, start = start, stop = stop, event = event, covariates = covariates,
    strata = strata, cluster = cluster, weights = weights,
    n = fit$n, events = fit$nevent, iter = fit$iter,
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(if (!is.null(fit$naive.var)) fit$naive.var else vcov(fit)))),
    robust_se = if (!is.null(fit$naive.var)) unname(sqrt(diag(fit$var))) else NULL,
    loglik = fit$loglik,
    wald = unname(fit$wald.test), score = unname(fit$score),
    concordance = unname(cc$concordance), concordance_se = sqrt(cc$var),
    concordance_count = unname(if (is.matrix(cc$count)) colSums(cc$count) else cc$count[1:5]),  # summed over strata
    zph_chisq = if (is.null(z)) NULL else unname(z$table[, "chisq"]),
    zph_p = if (is.null(z)) NULL else unname(z$table[, "p"]),
    basehaz_time = bh$time, basehaz_hazard = bh$hazard,
    basehaz_strata = if (is.null(bh$strata)) NULL else as.character(bh$strata),
    r_warnings = res$warnings
  )
}

cox <- list(
  cox_fixture("heart_efron", "heart", Surv(start, stop, event) ~ age + year + surgery + transplant,
              covariates = c("age", "year", "surgery", "transplant")),
  cox_fixture("heart_breslow", "heart", Surv(start, stop, event) ~ age + year + surgery + transplant,
              ties = "breslow", covariates = c("age", "year", "surgery", "transplant")),
  cox_fixture("heart_efron_cluster", "heart",
              Surv(start, stop, event) ~ age + year + surgery + transplant + cluster(id),
              covariates = c("age", "year", "surgery", "transplant"), cluster = "id"),
  cox_fixture("heart_breslow_cluster", "heart",
              Surv(start, stop, event) ~ age + year + surgery + transplant + cluster(id), ties = "breslow",
              covariates = c("age", "year", "surgery", "transplant"), cluster = "id"),
  cox_fixture("heart_strata_surgery", "heart", Surv(start, stop, event) ~ age + year + transplant + strata(surgery),
              covariates = c("age", "year", "transplant"), strata = "surgery"),
  cox_fixture("heart_weighted", "heart", Surv(start, stop, event) ~ age + year + surgery + transplant,
              covariates = c("age", "year", "surgery", "transplant"), weights = "wt", zph = FALSE),
  cox_fixture("mgus2_age_efron", "mgus2_age", Surv(entry, exit, death) ~ male + hgb + creat,
              covariates = c("male", "hgb", "creat"), start = "entry", stop = "exit", event = "death"),
  cox_fixture("mgus2_age_breslow_strata", "mgus2_age", Surv(entry, exit, death) ~ hgb + creat + strata(male),
              ties = "breslow", covariates = c("hgb", "creat"), strata = "male",
              start = "entry", stop = "exit", event = "death"),
  cox_fixture("mono_cp_efron", "mono_cp", Surv(start, stop, event) ~ x, covariates = c("x"), zph = FALSE),
  cox_fixture("mono_cp_breslow", "mono_cp", Surv(start, stop, event) ~ x, ties = "breslow",
              covariates = c("x"), zph = FALSE)
)
names(cox) <- vapply(cox, function(f) f$name, "")

# ---------------------------------------------------------------- Kaplan–Meier with delayed entry
km_table <- function(fit) {
  list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
       surv = fit$surv, std_err_s = fit$std.err * fit$surv, lower = fit$lower, upper = fit$upper)
}
quant <- function(fit) {
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  list(probs = c(0.25, 0.5, 0.75), quantile = unname(q$quantile), lower = unname(q$lower),
       upper = unname(q$upper))
}
km <- list()
at_ages <- c(40, 50, 60, 65, 70, 75, 80, 90, 110) * 12
for (ct in c("log-log", "log", "plain")) {
  fit <- survfit(Surv(entry, exit, death) ~ 1, data = la, conf.type = ct)
  sm <- summary(fit, times = at_ages, extend = TRUE)
  km[[paste0("mgus2_age_", ct)]] <- c(
    list(call = paste(deparse(fit$call), collapse = " "), conf_type = ct, n = fit$n),
    km_table(fit), list(quantiles = quant(fit),
    at = list(time = sm$time, n_risk = sm$n.risk, surv = sm$surv, std_err = sm$std.err,
              lower = sm$lower, upper = sm$upper)))
}
fit <- survfit(Surv(entry, exit, death) ~ male, data = la, conf.type = "log-log")
km$mgus2_age_by_sex <- list(
  call = paste(deparse(fit$call), collapse = " "), conf_type = "log-log",
  strata = unname(fit$strata), n = fit$n, table = km_table(fit))

# ---------------------------------------------------------------- jasa: tmerge, Simon–Makuch, Mantel–Byar
sdata <- tmerge(tdata[, c("subject", "age", "year", "surgery")], tdata, id = subject,
                death = event(futime, fustat), trt = tdc(txtime))
split <- list(call = "tmerge(tdata[, c('subject','age','year','surgery')], tdata, id = subject, death = event(futime, fustat), trt = tdc(txtime))",
              subject = sdata$subject, tstart = sdata$tstart, tstop = sdata$tstop,
              death = sdata$death, trt = sdata$trt)
jasa_cox <- list(
  cox_fixture("jasa_split_efron", sdata, Surv(tstart, tstop, death) ~ age + year + surgery + trt,
              covariates = c("age", "year", "surgery", "trt"), start = "tstart", stop = "tstop",
              event = "death"),
  cox_fixture("jasa_split_efron_cluster", sdata,
              Surv(tstart, tstop, death) ~ age + year + surgery + trt + cluster(subject),
              covariates = c("age", "year", "surgery", "trt"), cluster = "subject",
              start = "tstart", stop = "tstop", event = "death"))
names(jasa_cox) <- vapply(jasa_cox, function(f) f$name, "")

exact <- coxph(Surv(tstart, tstop, death) ~ trt, data = sdata, ties = "exact")
mantel_byar <- list(
  call = paste(deparse(exact$call), collapse = " "),
  score = unname(exact$score), df = 1L, p_value = pchisq(unname(exact$score), 1, lower.tail = FALSE),
  note = "score test of the exact partial likelihood at beta = 0 = Mantel-Byar (log-rank on split data)")

sm_fit <- survfit(Surv(tstart, tstop, death) ~ trt, data = sdata, conf.type = "log-log")
sm_times <- c(0, 30, 100, 365, 1000)
sm_sum <- summary(sm_fit, times = sm_times, extend = TRUE)
exact_at_risk <- sapply(c(0, 1), function(g) sapply(sm_times, function(t)
  sum(sdata$tstart < t & t <= sdata$tstop & sdata$trt == g)))
simon_makuch <- list(
  call = paste(deparse(sm_fit$call), collapse = " "), strata = unname(sm_fit$strata),
  table = km_table(sm_fit), times = sm_times,
  summary_strata = as.character(sm_sum$strata), summary_time = sm_sum$time,
  summary_n_risk = sm_sum$n.risk, summary_surv = sm_sum$surv,
  exact_n_risk = exact_at_risk,  # times x (trt = 0, trt = 1): sum(tstart < t & t <= tstop)
  medians = as.vector(quantile(sm_fit, probs = 0.5)$quantile))

# ---------------------------------------------------------------- naive and landmark
naive_fit <- coxph(Surv(futime, fustat) ~ transplant, data = tdata)
naive <- list(call = paste(deparse(naive_fit$call), collapse = " "),
              coef = unname(coef(naive_fit)), se = unname(sqrt(diag(vcov(naive_fit)))),
              hr = unname(exp(coef(naive_fit))), loglik = naive_fit$loglik,
              score = unname(naive_fit$score),
              note = "transplant as a fixed covariate from acceptance: immortal-time bias")
lm_at <- 30
lmd <- subset(tdata, futime > lm_at)
lmd$grp <- as.integer(!is.na(lmd$txtime) & lmd$txtime <= lm_at)
lmd$t <- lmd$futime - lm_at
lm_km <- survfit(Surv(t, fustat) ~ grp, data = lmd)
lm_lr <- survdiff(Surv(t, fustat) ~ grp, data = lmd)
lm_cox <- coxph(Surv(t, fustat) ~ grp, data = lmd)
landmark <- list(
  at = lm_at, n = nrow(lmd), excluded = nrow(tdata) - nrow(lmd),
  n_per_group = unname(as.vector(table(lmd$grp))),
  rule = "kept: futime > at; group: txtime <= at (no transplant: 0); time: futime - at",
  km_strata = unname(lm_km$strata), km_table = km_table(lm_km),
  km_medians = as.vector(quantile(lm_km, probs = 0.5)$quantile),
  logrank_chisq = unname(lm_lr$chisq), logrank_obs = unname(lm_lr$obs), logrank_exp = unname(lm_lr$exp),
  cox_call = paste(deparse(lm_cox$call), collapse = " "),
  cox_coef = unname(coef(lm_cox)), cox_se = unname(sqrt(diag(vcov(lm_cox)))), cox_loglik = lm_cox$loglik)

out <- c(versions, list(cox = c(cox, jasa_cox), km = km, split = split, mantel_byar = mantel_byar,
                        simon_makuch = simon_makuch, naive = naive, landmark = landmark))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/timedep.json")
