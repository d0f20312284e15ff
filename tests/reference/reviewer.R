# Reference values for the statistics a journal's reviewer asks for (issue 22):
#   comparison  absolute effects of two groups: survival difference at landmarks (Greenwood,
#               independent groups, plain scale) and the RMST difference at tau
#   zph         cox.zph per term and the scaled Schoenfeld residuals + smooth + band exactly as
#               plot(cox.zph(fit)) draws them (read back from the recorded plot)
#   rcs         rms/Hmisc restricted cubic spline knots and basis, the LR test of non-linearity
#               (anova of the two coxph fits), the HR-versus-value curve against the median
#   split       survSplit of follow-up at a cut time (for the sensitivity model of a
#               continuous covariate whose effect changes over follow-up)
# Run from the repository root:  Rscript tests/reference/reviewer.R
# Writes tests/reference/data/gbsg.csv (survival::gbsg as R ships it) and tests/reference/reviewer.json.
# survRM2 is not installed here: its RMST-difference formula (Klein & Moeschberger variance per
# group, independent groups, Wald CI and p) is written out explicitly below, and the per-group
# restricted mean and its SE are also taken from print(survfit(...), rmean = tau) (the same numbers).
suppressPackageStartupMessages({
  library(survival); library(jsonlite); library(rms); library(splines)
})

dd <- "tests/reference/data"
rd <- function(nm) read.csv(file.path(dd, paste0(nm, ".csv")))
gbsg <- survival::gbsg
write.csv(gbsg, file.path(dd, "gbsg.csv"), row.names = FALSE)
gbsg <- rd("gbsg")
lung <- rd("lung"); lung$ev <- as.integer(lung$status == 2)
veteran <- rd("veteran")

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 rms = as.character(packageVersion("rms")), Hmisc = as.character(packageVersion("Hmisc")),
                 splines = as.character(packageVersion("splines")))
out <- list(meta = c(versions, list(script = "tests/reference/reviewer.R")))
month <- 30.4375
z975 <- qnorm(0.975)

# ---------------------------------------------------------------- comparison of two groups
# Klein & Moeschberger (2003, sec. 4.5) variance of the restricted mean, written out:
# sum over distinct times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)), A_j = area under S from t_j to tau.
rmst_explicit <- function(fit, tau) {
  keep <- fit$time <= tau
  tt <- c(fit$time[keep], tau)
  s <- c(1, fit$surv[keep])
  rect <- diff(c(0, tt)) * s
  area_after <- rev(cumsum(rev(rect)))[-1]          # area from t_j to tau
  d <- fit$n.event[keep]; r <- fit$n.risk[keep]
  h <- ifelse(r - d > 0, d / (r * (r - d)), 0)
  c(rmst = sum(rect), se = sqrt(sum(area_after^2 * h)))
}

comparison <- function(name, data, time, event, by, reference, group, times, tau, scale = 1) {
  df <- data.frame(t = data[[time]] / scale, e = data[[event]], g = data[[by]])
  fits <- list(reference = survfit(Surv(t, e) ~ 1, data = df[df$g == reference, ]),
               group = survfit(Surv(t, e) ~ 1, data = df[df$g == group, ]))
  per <- lapply(fits, function(f) {
    s <- summary(f, times = times)
    tab <- summary(f, rmean = tau)$table            # = print(f, rmean = tau)
    ex <- rmst_explicit(f, tau)
    stopifnot(abs(ex[["rmst"]] - tab[["rmean"]]) < 1e-12 * tau,
              abs(ex[["se"]] - tab[["se(rmean)"]]) < 1e-10 * max(1, tab[["se(rmean)"]]))
    list(n = unname(tab["n.max"]), events = unname(tab["events"]), last_time = max(f$time),
         survival = s$surv, std_err = s$std.err, n_risk = s$n.risk,
         rmean = unname(tab["rmean"]), rmean_se = unname(tab["se(rmean)"]))
  })
  diff <- per$group$survival - per$reference$survival
  se <- sqrt(per$group$std_err^2 + per$reference$std_err^2)
  rd_ <- per$group$rmean - per$reference$rmean
  rse <- sqrt(per$group$rmean_se^2 + per$reference$rmean_se^2)
  out$comparison[[name]] <<- list(
    call = sprintf(paste("summary(survfit(Surv(%s%s, %s) ~ 1, subset = %s == g), times = c(%s)); ",
                         "summary(fit, rmean = %s)$table (= print(fit, rmean = %s)); difference = %s %s minus %s %s"),
                   time, if (scale == 1) "" else sprintf(" / %s", scale), event, by,
                   paste(times, collapse = ", "), tau, tau, by, group, by, reference),
    data = deparse(substitute(data)), time = time, event = event, by = by, scale = scale,
    reference = reference, group = group, times = times, tau = tau,
    per_group = per,
    at = list(time = times, difference = diff, std_err = se,
              lower = diff - z975 * se, upper = diff + z975 * se),
    rmst = list(tau = tau, difference = rd_, std_err = rse, lower = rd_ - z975 * rse,
                upper = rd_ + z975 * rse, p_value = 2 * pnorm(-abs(rd_ / rse))))
}
out$comparison <- list()
comparison("gbsg_hormon", gbsg, "rfstime", "status", "hormon", 0, 1, c(12, 36, 60), 60, scale = month)
comparison("lung_sex", lung, "time", "ev", "sex", 1, 2, c(180, 365, 730), 730)
comparison("veteran_trt", veteran, "time", "status", "trt", 1, 2, c(30, 90, 180, 365), 365)

# ---------------------------------------------------------------- cox.zph and its plot
# What plot.cox.zph draws, read back from the recorded plot (base graphics display list):
# points (x, scaled residual + coef), the smooth and the two band lines at nsmo = 40 points,
# and the x-axis ticks (positions and labels) for a transformed time axis.
plot_data <- function(z, i) {
  pdf(NULL); dev.control("enable")
  plot(z[i])
  dl <- recordPlot()[[1]]
  dev.off()
  xy <- list(); axis_at <- NULL; axis_lab <- NULL
  for (e in dl) {
    nm <- e[[2]][[1]]$name
    if (identical(nm, "C_plotXY")) xy[[length(xy) + 1]] <- list(x = e[[2]][[2]]$x, y = e[[2]][[2]]$y,
                                                              type = e[[2]][[3]])
    if (identical(nm, "C_axis")) { axis_at <- e[[2]][[3]]; axis_lab <- e[[2]][[4]] }
  }
  types <- vapply(xy, function(a) a$type, "")
  pts <- xy[[which(types == "p")]]
  ln <- xy[types == "l"]
  stopifnot(length(ln) == 3)
  list(points_x = pts$x, points_y = pts$y, curve_x = ln[[1]]$x, fit = ln[[1]]$y,
       upper = ln[[2]]$y, lower = ln[[3]]$y, axis_at = axis_at, axis_labels = axis_lab)
}

zph_fixture <- function(name, data_name, fit, term_columns, extra_transforms = character(0)) {
  z <- cox.zph(fit)
  terms <- rownames(z$table)[-nrow(z$table)]
  plots <- lapply(seq_along(terms), function(i) plot_data(z, i))
  names(plots) <- terms
  other <- list()
  for (tr in extra_transforms) {
    zt <- cox.zph(fit, transform = tr)
    other[[tr]] <- list(chisq = unname(zt$table[, "chisq"]), p = unname(zt$table[, "p"]))
  }
  s <- summary(fit)
  out$zph[[name]] <<- list(
    call = paste(deparse(fit$call), collapse = " "),
    zph_call = "cox.zph(fit) (transform = 'km'); plot(cox.zph(fit)[i]) (df = 4, nsmo = 40, se = TRUE)",
    data = data_name, terms = terms, term_columns = term_columns,
    coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
    hr = unname(s$conf.int[, "exp(coef)"]), lower = unname(s$conf.int[, "lower .95"]),
    upper = unname(s$conf.int[, "upper .95"]), loglik = fit$loglik,
    chisq = unname(z$table[, "chisq"]), df = unname(z$table[, "df"]), p = unname(z$table[, "p"]),
    x = z$x, time = z$time, strata = if (is.null(z$strata)) NULL else as.character(z$strata),
    y = unname(z$y), var = unname(z$var), plots = plots, transforms = other)
}
out$zph <- list()
g <- gbsg
g$hormon_f <- factor(g$hormon); g$meno_f <- factor(g$meno); g$grade_f <- factor(g$grade)
g$age10 <- g$age / 10; g$size10 <- g$size / 10; g$pgr100 <- g$pgr / 100; g$er100 <- g$er / 100
# the demo's full model (src/survstudy/examples/gbsg/study.yaml)
m_full <- coxph(Surv(rfstime, status) ~ hormon_f + age10 + meno_f + size10 + grade_f + nodes + pgr100 + er100,
                data = g)
zph_fixture("gbsg_full", "gbsg", m_full,
            list(hormon_f = "hormon==1", age10 = "age/10", meno_f = "meno==1", size10 = "size/10",
                 grade_f = c("grade==2", "grade==3"), nodes = "nodes", pgr100 = "pgr/100", er100 = "er/100"),
            c("identity", "rank"))
# the sensitivity model: stratified on the offending categorical covariates (grade and meno)
m_strat <- coxph(Surv(rfstime, status) ~ hormon_f + age10 + size10 + nodes + pgr100 + er100 +
                   strata(grade, meno), data = g)
zph_fixture("gbsg_strat", "gbsg", m_strat,
            list(hormon_f = "hormon==1", age10 = "age/10", size10 = "size/10", nodes = "nodes",
                 pgr100 = "pgr/100", er100 = "er/100"))
v <- veteran
v$celltype <- factor(v$celltype, levels = c("adeno", "large", "smallcell", "squamous"))
m_vet <- coxph(Surv(time, status) ~ trt + karno + diagtime + age + prior + celltype, data = v)
zph_fixture("veteran", "veteran", m_vet,
            list(trt = "trt", karno = "karno", diagtime = "diagtime", age = "age", prior = "prior",
                 celltype = c("celltype==large", "celltype==smallcell", "celltype==squamous")))
# a covariate that is constant (0) in three of the four strata: its residuals there are NA
v$age_large <- (v$celltype == "large") * v$age
m_vc <- coxph(Surv(time, status) ~ trt + karno + age_large + strata(celltype), data = v)
zph_fixture("veteran_strat_const", "veteran", m_vc,
            list(trt = "trt", karno = "karno", age_large = "(celltype==large)*age"))

# case weights: cox.zph weights the score and information, but its "km" transform is the
# unweighted Kaplan-Meier (survfitKM is called without the weights) and the centring mean is
# unweighted too
v$w <- 1 + (seq_len(nrow(v)) %% 3)
m_vw <- coxph(Surv(time, status) ~ trt + karno + age, data = v, weights = w)
zph_fixture("veteran_weighted", "veteran", m_vw, list(trt = "trt", karno = "karno", age = "age"))
out$zph$veteran_weighted$weights <- "1 + (row number %% 3)"

# ---------------------------------------------------------------- restricted cubic splines
knot_case <- function(name, x, nk = 4, inline = TRUE) {
  w <- character(0)
  k <- withCallingHandlers(rcspline.eval(x, nk = nk, knots.only = TRUE),
                           warning = function(e) { w <<- c(w, conditionMessage(e)); invokeRestart("muffleWarning") })
  list(name = name, x = if (inline) x else NULL, nk = nk, knots = unname(k), warning = w)
}
set.seed(20240522)
out$rcs_knots <- list(
  c(knot_case("gbsg_nodes", gbsg$nodes, inline = FALSE), list(data = "gbsg", column = "nodes")),
  c(knot_case("gbsg_pgr", gbsg$pgr, inline = FALSE), list(data = "gbsg", column = "pgr")),
  c(knot_case("gbsg_age", gbsg$age, inline = FALSE), list(data = "gbsg", column = "age")),
  c(knot_case("gbsg_er", gbsg$er, inline = FALSE), list(data = "gbsg", column = "er")),
  c(knot_case("gbsg_size", gbsg$size, inline = FALSE), list(data = "gbsg", column = "size")),
  c(knot_case("veteran_karno", veteran$karno, inline = FALSE), list(data = "veteran", column = "karno")),
  c(knot_case("veteran_diagtime", veteran$diagtime, inline = FALSE), list(data = "veteran", column = "diagtime")),
  c(knot_case("gbsg_nodes_5", gbsg$nodes, nk = 5, inline = FALSE), list(data = "gbsg", column = "nodes")),
  c(knot_case("gbsg_age_3", gbsg$age, nk = 3, inline = FALSE), list(data = "gbsg", column = "age")),
  knot_case("small_n_40", round(rnorm(40, 50, 10), 1)),              # n < 100: 5th smallest/largest
  knot_case("few_unique_6", rep(1:6, 5)),                            # nxu - 2 <= nk: interior values
  knot_case("few_unique_7", rep(c(0, 1, 2, 3, 5, 8, 13), c(30, 20, 15, 10, 10, 8, 7))),
  knot_case("tied_low_end", c(rep(0, 30), round(rexp(170, 1 / 20), 1))),  # fractied: first knot override
  knot_case("tied_both_ends", c(rep(0, 20), round(runif(160, 1, 99), 2), rep(100, 20))),
  knot_case("heavy_tie_middle", c(round(runif(4, 0, 5), 2), rep(5, 140), round(runif(56, 5, 10), 2))),
  knot_case("tie_collapses", c(rep(5, 150), round(runif(50, 0, 10), 2)))  # equal quantiles merge
)  # (the heavy tie in the middle takes rcspline.eval's alternate algorithm, with its warning)
# fewer than 3 distinct knots: rcspline.eval stops (an error, recorded as such)
few <- c(rep(0, 100), rep(1, 100), 2:7)
out$rcs_knots_error <- list(x = few, nk = 4,
                            error = tryCatch({capture.output(rcspline.eval(few, nk = 4, knots.only = TRUE)); ""},
                                             error = function(e) "error"))
# the basis (rcs() = rcspline.eval(inclx = TRUE), norm = 2) at a few values, gbsg nodes knots
kn <- rcspline.eval(gbsg$nodes, nk = 4, knots.only = TRUE)
xb <- c(0, 1, 1.5, 2, 3, 4.5, 5, 10, 16, 20, 51)
out$rcs_basis <- list(knots = unname(kn), x = xb, basis = unname(rcspline.eval(xb, knots = kn, inclx = TRUE)),
                      call = "rcspline.eval(x, knots = rcspline.eval(gbsg$nodes, nk = 4, knots.only = TRUE), inclx = TRUE)")

nonlin_case <- function(name, data, time, event, var, others, grid, factors = character(0)) {
  d <- data
  for (f in factors) d[[f]] <- factor(d[[f]])
  d$.t <- d[[time]]; d$.e <- d[[event]]
  rhs <- function(term) paste(c(others, term), collapse = " + ")
  f_lin <- as.formula(paste("Surv(.t, .e) ~", rhs(var)))
  f_rcs <- as.formula(paste("Surv(.t, .e) ~", rhs(sprintf("rcs(%s, 4)", var))))

  fit_rcs <- coxph(f_rcs, data = d, control = coxph.control(iter.max = 50))
  fit_lin <- coxph(f_lin, data = d, control = coxph.control(iter.max = 50))
  ll0 <- if (length(others)) {
    coxph(as.formula(paste("Surv(.t, .e) ~", paste(others, collapse = " + "))), data = d,
          control = coxph.control(iter.max = 50))$loglik[2]
  } else fit_lin$loglik[1]
  a <- anova(fit_lin, fit_rcs)
  kn <- rcspline.eval(d[[var]], nk = 4, knots.only = TRUE)
  cols <- grep(sprintf("rcs\\(%s, 4\\)", var), names(coef(fit_rcs)))
  b <- coef(fit_rcs)[cols]; V <- vcov(fit_rcs)[cols, cols]
  ref <- median(d[[var]])
  B <- function(x) rcspline.eval(x, knots = kn, inclx = TRUE)
  C <- B(grid) - B(rep(ref, length(grid)))
  lp <- drop(C %*% b); se <- sqrt(rowSums((C %*% V) * C))
  # rms's own route: cph + Predict(ref.zero = TRUE) against the datadist adjust-to value (the median)
  ddist <- datadist(d); assign("ddist", ddist, envir = globalenv()); options(datadist = "ddist")
  fc <- cph(f_rcs, data = d, x = TRUE, y = TRUE, eps = 1e-10, tol = 1e-13, iter.max = 50)
  pr <- as.data.frame(do.call(Predict, c(list(fc), setNames(list(grid), var),
                                          list(ref.zero = TRUE, fun = exp))))
  stopifnot(abs(ddist$limits["Adjust to", var] - ref) < 1e-12)
  # Predict's own grid: 200 values from datadist's Low:prediction to High:prediction
  pd <- as.data.frame(do.call(Predict, c(list(fc, var), list(ref.zero = TRUE, fun = exp))))
  out$nonlinearity[[name]] <<- list(
    call = sprintf("anova(coxph(%s), coxph(%s)); knots = rcspline.eval(%s, nk = 4, knots.only = TRUE)",
                   deparse(f_lin), deparse(f_rcs), var),
    data = name, time = time, event = event, var = var, others = others, factors = factors,
    knots = unname(kn), loglik_linear = fit_lin$loglik[2], loglik_rcs = fit_rcs$loglik[2],
    loglik_without = ll0,
    lr_nonlinear = a$Chisq[2], df_nonlinear = a$Df[2], p_nonlinear = a[["Pr(>|Chi|)"]][2],
    lr_overall = 2 * (fit_rcs$loglik[2] - ll0), df_overall = length(cols),
    p_overall = pchisq(2 * (fit_rcs$loglik[2] - ll0), length(cols), lower.tail = FALSE),
    coef_rcs = unname(b), var_rcs = unname(V), coef_all = unname(coef(fit_rcs)),
    reference = ref, grid = grid, hr = exp(lp), lower = exp(lp - z975 * se), upper = exp(lp + z975 * se),
    predict = list(call = sprintf("Predict(cph(..., eps = 1e-10), %s = grid, ref.zero = TRUE, fun = exp)", var),
                   hr = pr$yhat, lower = pr$lower, upper = pr$upper),
    predict_default = list(call = sprintf("Predict(cph(...), '%s', ref.zero = TRUE, fun = exp)", var),
                           low = ddist$limits["Low:prediction", var], high = ddist$limits["High:prediction", var],
                           value = pd[[var]], hr = pd$yhat, lower = pd$lower, upper = pd$upper))
}
out$nonlinearity <- list()
nonlin_case("gbsg_nodes_full", gbsg, "rfstime", "status", "nodes",
            c("hormon", "age", "meno", "size", "grade", "pgr", "er"), c(1, 2, 3, 5, 8, 10, 15, 20, 30, 51),
            factors = c("grade"))
nonlin_case("gbsg_pgr_full", gbsg, "rfstime", "status", "pgr",
            c("hormon", "age", "meno", "size", "grade", "nodes", "er"), c(0, 1, 5, 10, 32.5, 50, 100, 200, 500, 1000),
            factors = c("grade"))
nonlin_case("gbsg_nodes_uni", gbsg, "rfstime", "status", "nodes", character(0), c(1, 3, 5, 10, 20))
nonlin_case("gbsg_pgr_uni", gbsg, "rfstime", "status", "pgr", character(0), c(0, 10, 32.5, 100, 500))
nonlin_case("veteran_karno", veteran, "time", "status", "karno", c("trt", "celltype"), c(10, 20, 40, 60, 80, 99),
            factors = c("celltype"))

# ---------------------------------------------------------------- split of follow-up at a cut
# survSplit of veteran at its median observed time (a data value, so some times equal the cut: they
# stay in the first period, tstart < t <= cut) and at 200. (Veteran's reverse-KM median follow-up is
# not reached: 9 of 137 censored.) The stratified-by-period Cox fit is recorded for the
# counting-process cox_fit (not yet on main when this fixture was made).
cut <- median(veteran$time)
vs <- veteran; vs$id <- seq_len(nrow(vs))
sp <- survSplit(Surv(time, status) ~ ., data = vs, cut = c(cut, 200), episode = "tgroup")
sp <- sp[order(sp$id, sp$tstart), ]
fit_sp <- coxph(Surv(tstart, time, status) ~ trt + karno:strata(tgroup), data = sp)
out$split <- list(call = "survSplit(Surv(time, status) ~ ., data = veteran, cut = c(cut, 200), episode = 'tgroup')",
                  data = "veteran", cuts = c(cut, 200), id = sp$id, tstart = sp$tstart, tstop = sp$time,
                  status = sp$status, period = sp$tgroup,
                  cox = list(call = paste(deparse(fit_sp$call), collapse = " "), terms = names(coef(fit_sp)),
                             coef = unname(coef(fit_sp)), se = unname(sqrt(diag(vcov(fit_sp)))),
                             loglik = fit_sp$loglik))

# ---------------------------------------------------------------- split sensitivity model
# A GBSG model whose PH violations are all continuous (age, pgr, er; no categorical covariate
# fails): each offending covariate gets one coefficient before and one after the median
# follow-up (reverse Kaplan-Meier median of rfstime), by survSplit at that time.
g3 <- gbsg; g3$age10 <- g3$age / 10; g3$size10 <- g3$size / 10
g3$pgr100 <- g3$pgr / 100; g3$er100 <- g3$er / 100; g3$hormon_f <- factor(g3$hormon)
m_cont <- coxph(Surv(rfstime, status) ~ hormon_f + age10 + size10 + nodes + pgr100 + er100, data = g3)
z_cont <- cox.zph(m_cont)
fu3 <- survfit(Surv(rfstime, 1 - status) ~ 1, data = g3)
cut3 <- unname(summary(fu3)$table["median"])
sp3 <- survSplit(Surv(rfstime, status) ~ ., data = g3, cut = cut3, episode = "tgroup")
fit3 <- coxph(Surv(tstart, rfstime, status) ~ hormon_f + size10 + nodes + age10:strata(tgroup) +
                pgr100:strata(tgroup) + er100:strata(tgroup), data = sp3)
s3 <- summary(fit3)
z3 <- cox.zph(fit3)
out$split_sensitivity <- list(
  call = paste(deparse(fit3$call), collapse = " "),
  model_call = paste(deparse(m_cont$call), collapse = " "),
  zph_terms = rownames(z_cont$table), zph_p = unname(z_cont$table[, "p"]),
  cut_days = cut3, cut_call = "summary(survfit(Surv(rfstime, 1 - status) ~ 1))$table['median']",
  terms = names(coef(fit3)), coef = unname(coef(fit3)), se = unname(sqrt(diag(vcov(fit3)))),
  hr = unname(s3$conf.int[, "exp(coef)"]), lower = unname(s3$conf.int[, "lower .95"]),
  upper = unname(s3$conf.int[, "upper .95"]), p = unname(s3$coefficients[, "Pr(>|z|)"]),
  loglik = fit3$loglik,
  split_zph_terms = rownames(z3$table), split_zph_chisq = unname(z3$table[, "chisq"]),
  split_zph_df = unname(z3$table[, "df"]), split_zph_p = unname(z3$table[, "p"]))

# ---------------------------------------------------------------- transform: log
# the univariable model of log(nodes) (gbsg nodes >= 1) and the spline test on the log scale
g2 <- gbsg; g2$lognodes <- log(g2$nodes)
fit_log <- coxph(Surv(rfstime, status) ~ lognodes, data = g2)
s_log <- summary(fit_log)
out$log_nodes <- list(call = "coxph(Surv(rfstime, status) ~ log(nodes), data = gbsg)",
                      coef = unname(coef(fit_log)), se = unname(sqrt(diag(vcov(fit_log)))),
                      hr = unname(s_log$conf.int[, "exp(coef)"]),
                      lower = unname(s_log$conf.int[, "lower .95"]),
                      upper = unname(s_log$conf.int[, "upper .95"]),
                      p = unname(s_log$coefficients[, "Pr(>|z|)"]))
nonlin_case("gbsg_lognodes_uni", g2, "rfstime", "status", "lognodes", character(0), log(c(1, 3, 5, 10, 20)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null", null = "null"),
           "tests/reference/reviewer.json")
