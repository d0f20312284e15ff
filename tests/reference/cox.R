# Reference values for survstudy's Cox regression (src/survstudy/stats/cox.py), from R's survival package.
# Run from the repository root:  Rscript tests/reference/cox.R
# Writes tests/reference/data/<name>.csv (the data sets used, as R ships them) and tests/reference/cox.json.
# Each fixture records the R call; the test builds the same model from the CSV
# (event = (column == event_value); factors dummy-coded with R's level order, first level = reference).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
data(cancer, package = "survival")

dir.create("tests/reference/data", showWarnings = FALSE)
vet <- veteran
vet$celltype <- as.character(vet$celltype)
sets <- list(lung = lung, veteran = vet, ovarian = ovarian,
             aml = data.frame(time = aml$time, status = aml$status,
                              maintained = as.integer(aml$x == "Maintained")),
             kidney = kidney)
# all-censored group: in ovarian, a made-up factor whose level "c" has only censored patients
ov2 <- ovarian
ov2$grp <- ifelse(ov2$fustat == 0 & ov2$futime > 1000, "c", ifelse(ov2$age > 55, "a", "b"))
sets$ovarian_grp <- ov2
# single event: the first 6 rows of aml that contain exactly one event
a1 <- sets$aml[c(1, 3, 12, 13, 14, 15), ]
a1$status <- c(0, 0, 1, 0, 0, 0)
a1$z <- c(0.5, 2.0, 1.2, 3.1, 0.7, 1.5)
sets$aml_one <- a1
# zero-variance and collinear covariates
lz <- lung[!is.na(lung$ph.ecog), c("time", "status", "age", "sex", "ph.ecog")]
lz$const <- 1
lz$age2 <- 2 * lz$age + 3 * lz$sex
sets$lung_bad <- lz
sets$book_testw1 <- read.csv("tests/reference/data/book_testw1.csv")
# monotone likelihood in tiny series: the coefficient runs to +infinity (R warns
# "Loglik converged before variable 1; coefficient may be infinite")
#  - 4 patients, 2 deaths, the earliest death is the only x = 1 patient
sets$mono4 <- data.frame(time = c(3065, 566, 498, 1766), status = c(0, 1, 1, 0), x = c(0, 0, 1, 0))
#  - 12 patients, 3 deaths (two tied at time 5), every death in the x = 1 group
sets$mono12 <- data.frame(time = c(5, 5, 8, 12, 15, 20, 22, 30, 35, 40, 44, 50),
                          status = c(1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                          x = c(1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0))
# a heavy-tailed covariate whose second Newton step overshoots (lower loglik): with
# iter.max = 3 R stops after two rejected trial points and returns the last ACCEPTED
# beta; with iter.max = 4 the third trial, pulled back 2/3 of the way, is accepted
sets$halving <- data.frame(
  time = c(11, 235, 1, 61, 211, 92, 608, 238, 50, 282, 1, 297, 1, 178, 1, 120, 29, 98, 5, 62, 121, 1700),
  status = c(1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1),
  x = c(2.45, 0, 24.09, 0.02, -0.76, -0.16, -3.9, -6.26, 0.75, 0.59, 6.51, -1.29,
        14.46, -0.07, 11.71, -0.24, -1.19, 0.05, 3.29, 0.01, -0.6, -7.24))
for (nm in names(sets)) write.csv(sets[[nm]], file.path("tests/reference/data", paste0(nm, ".csv")), row.names = FALSE)

fixture <- function(name, data, formula, ties = "efron", time = "time", event = "status", event_value = 1,
                    covariates, factors = list(), strata = NULL, cluster = NULL, robust = FALSE, zph = TRUE,
                    weights = NULL, iter_max = 20) {
  d <- sets[[data]]
  d$ev <- as.integer(d[[event]] == event_value)
  for (f in names(factors)) d[[f]] <- factor(d[[f]], levels = factors[[f]])
  environment(formula) <- environment()
  r_warnings <- character(0)
  keep_warning <- function(w) {
    r_warnings <<- c(r_warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  }
  fit <- withCallingHandlers(if (!is.null(weights)) {
    d$.w <- d[[weights]]
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), weights = .w, x = TRUE, y = TRUE, model = TRUE)))
  } else if (iter_max != 20) {
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), iter.max = .(iter_max),
                      x = TRUE, y = TRUE, model = TRUE)))
  } else if (robust) {
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), robust = TRUE, x = TRUE, y = TRUE, model = TRUE)))
  } else {
    eval(bquote(coxph(.(formula), data = d, ties = .(ties), x = TRUE, y = TRUE, model = TRUE)))
  }, warning = keep_warning)
  z <- if (zph) tryCatch(cox.zph(fit, transform = "km"), error = function(e) NULL) else NULL
  cc <- concordance(fit)
  bh <- basehaz(fit, centered = FALSE)
  sm <- summary(fit)
  list(
    name = name, data = data, call = paste(deparse(fit$call), collapse = " "),
    formula = paste(deparse(formula), collapse = " "),
    R = R.version.string, survival = as.character(packageVersion("survival")),
    ties = ties, time = time, event = event, event_value = event_value,
    covariates = covariates, factors = factors, strata = strata, cluster = cluster, robust = robust,
    weights = weights, iter_max = iter_max,
    n = fit$n, events = fit$nevent, iter = fit$iter,
    coef = unname(coef(fit)), se = unname(sqrt(diag(if (!is.null(fit$naive.var)) fit$naive.var else vcov(fit)))),
    robust_se = if (!is.null(fit$naive.var)) unname(sqrt(diag(fit$var))) else NULL,
    p_value = unname(sm$coefficients[, ncol(sm$coefficients)]),
    loglik = fit$loglik,
    lr = unname(sm$logtest),
    # summary() rounds the Wald and score statistics to 2 decimals; take them from the fit
    wald = c(unname(fit$wald.test), length(coef(fit)), pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE)),
    score = c(unname(fit$score), length(coef(fit)), pchisq(unname(fit$score), length(coef(fit)), lower.tail = FALSE)),
    concordance = cc$concordance, concordance_se = sqrt(cc$var),
    zph_chisq = if (is.null(z)) NULL else unname(z$table[, "chisq"]),
    zph_df = if (is.null(z)) NULL else unname(z$table[, "df"]),
    zph_p = if (is.null(z)) NULL else unname(z$table[, "p"]),
    basehaz_time = bh$time, basehaz_hazard = bh$hazard,
    basehaz_strata = if (is.null(bh$strata)) NULL else as.character(bh$strata),
    r_warnings = r_warnings
  )
}

fx <- list(
  fixture("lung_efron", "lung", Surv(time, ev) ~ age + sex + ph.ecog, event_value = 2,
          covariates = c("age", "sex", "ph.ecog")),
  fixture("lung_breslow", "lung", Surv(time, ev) ~ age + sex + ph.ecog, ties = "breslow", event_value = 2,
          covariates = c("age", "sex", "ph.ecog")),
  fixture("lung_strata", "lung", Surv(time, ev) ~ age + sex + strata(ph.ecog), event_value = 2,
          covariates = c("age", "sex"), strata = "ph.ecog"),
  fixture("lung_robust", "lung", Surv(time, ev) ~ age + sex, event_value = 2,
          covariates = c("age", "sex"), robust = TRUE),
  fixture("veteran_factor", "veteran", Surv(time, ev) ~ celltype + karno + trt,
          covariates = c("celltype", "karno", "trt"),
          factors = list(celltype = c("squamous", "smallcell", "adeno", "large"))),
  fixture("veteran_factor_breslow_strata", "veteran", Surv(time, ev) ~ celltype + karno + strata(trt),
          ties = "breslow", covariates = c("celltype", "karno"),
          factors = list(celltype = c("squamous", "smallcell", "adeno", "large")), strata = "trt"),
  fixture("ovarian_efron", "ovarian", Surv(futime, ev) ~ rx + age, time = "futime", event = "fustat",
          covariates = c("rx", "age")),
  fixture("ovarian_breslow", "ovarian", Surv(futime, ev) ~ rx + age, time = "futime", event = "fustat",
          ties = "breslow", covariates = c("rx", "age")),
  fixture("aml", "aml", Surv(time, ev) ~ maintained, covariates = c("maintained")),
  fixture("kidney_cluster", "kidney", Surv(time, ev) ~ age + sex + cluster(id),
          covariates = c("age", "sex"), cluster = "id"),
  fixture("kidney_cluster_breslow", "kidney", Surv(time, ev) ~ age + sex + cluster(id), ties = "breslow",
          covariates = c("age", "sex"), cluster = "id"),
  fixture("monotone_allcensored_group", "ovarian_grp", Surv(futime, ev) ~ grp + age, time = "futime",
          event = "fustat", covariates = c("grp", "age"), factors = list(grp = c("a", "b", "c")), zph = FALSE),
  fixture("single_event", "aml_one", Surv(time, ev) ~ z, covariates = c("z")),
  # case weights: Therneau & Grambsch test data 2 (weighted), Efron and Breslow
  fixture("book_testw1_efron", "book_testw1", Surv(time, ev) ~ x, covariates = c("x"), weights = "wt", zph = FALSE),
  fixture("book_testw1_breslow", "book_testw1", Surv(time, ev) ~ x, ties = "breslow", covariates = c("x"),
          weights = "wt", zph = FALSE),
  fixture("monotone_tiny4_efron", "mono4", Surv(time, ev) ~ x, covariates = c("x"), zph = FALSE),
  fixture("monotone_tiny4_breslow", "mono4", Surv(time, ev) ~ x, ties = "breslow", covariates = c("x"),
          zph = FALSE),
  fixture("monotone_ties12_efron", "mono12", Surv(time, ev) ~ x, covariates = c("x"), zph = FALSE),
  fixture("halving_itermax3", "halving", Surv(time, ev) ~ x, covariates = c("x"), zph = FALSE, iter_max = 3),
  fixture("halving_itermax4", "halving", Surv(time, ev) ~ x, covariates = c("x"), zph = FALSE, iter_max = 4),
  fixture("monotone_ties12_breslow", "mono12", Surv(time, ev) ~ x, ties = "breslow", covariates = c("x"),
          zph = FALSE)
)
names(fx) <- vapply(fx, function(f) f$name, "")

# zero variance and collinear: R drops the column (coefficient NA); survstudy refuses with an error.
zf <- coxph(Surv(time, status) ~ age + const, data = sets$lung_bad)
cf <- coxph(Surv(time, status) ~ age + sex + age2, data = sets$lung_bad)
out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              script = "tests/reference/cox.R"),
  fixtures = fx,
  zero_variance = list(call = paste(deparse(zf$call), collapse = " "), coef = unname(coef(zf))),
  collinear = list(call = paste(deparse(cf$call), collapse = " "), coef = unname(coef(cf)))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/cox.json")
