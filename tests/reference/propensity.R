# Reference values for survstudy's propensity-score analysis (src/survstudy/stats/logistic.py,
# propensity.py, treatment.py, the robust weighted Kaplan-Meier in km.py and the weighted Cox fit).
# Run from the repository root:  Rscript tests/reference/propensity.R
#
# MatchIt: builds of MatchIt <= 4.5.2 made with gcc (e.g. Debian bookworm's r-cran-matchit
# 4.5.1) compare distances with the C library's integer abs(): |0.75| becomes 0, so the caliper
# is not applied and any two candidates less than 1 apart on the logit tie (the lower one wins).
# MatchIt fixed it in commit 4b5b2f8 (std::abs, released in 4.5.4). These fixtures were made
# with MatchIt 4.5.1 (git 9762dc6) plus that commit, installed in a private library:
#   git archive 9762dc6 | tar -x -C src && (cd src && git diff 4b5b2f8~1 4b5b2f8 -- src | patch -p1)
#   R CMD INSTALL -l /tmp/Rlib src && R_LIBS=/tmp/Rlib Rscript tests/reference/propensity.R
# The script stops if a matched pair lies outside the caliper (the integer-abs build).
# Writes tests/reference/data/ps_gbsg.csv, tests/reference/data/ps_rotterdam.csv (the data used,
# as R ships them, with a row id) and tests/reference/propensity.json.
#
# What is R's own computation and what is a formula written out here:
#  - glm(family = binomial), MatchIt::matchit, survfit(robust = TRUE), coxph(robust / cluster)
#    are R's packages;
#  - the weights (ATE, ATT, overlap), their trimming and truncation, Kish's effective sample
#    size and the balance statistics are written out below as formulas (cobalt, which computes
#    the balance table in R, is not installed here). The formulas are cobalt's bal.tab
#    conventions: SMD = (weighted mean treated - weighted mean control) / SD, the SD from the
#    UNADJUSTED (complete-case, untrimmed, unmatched) sample: sqrt((s1^2 + s0^2) / 2) for ATE
#    and overlap, s1 (treated) for ATT; for a binary column s^2 = p (1 - p), otherwise the
#    sample variance (n - 1). Variance ratio (non-binary columns only) = weighted variance
#    treated / control, the weighted variance being stats::cov.wt(method = "unbiased"):
#    sum w (x - m)^2 * sum w / ((sum w)^2 - sum w^2).
suppressPackageStartupMessages({
  library(survival); library(MatchIt); library(jsonlite)
})
data(cancer, package = "survival")
dd <- "tests/reference/data"
dir.create(dd, showWarnings = FALSE)

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 MatchIt = paste(as.character(packageVersion("MatchIt")),
                                 "(with upstream commit 4b5b2f8: std::abs in nn_matchC_vec.cpp)"))

g <- data.frame(id = seq_len(nrow(gbsg)), gbsg[, c("age", "meno", "size", "grade", "nodes", "pgr",
                                                     "er", "hormon", "rfstime", "status")])
r <- data.frame(id = seq_len(nrow(rotterdam)),
                rotterdam[, c("age", "meno", "size", "grade", "nodes", "pgr", "er", "chemo",
                              "rtime", "recur")])
r$size <- as.character(r$size)
write.csv(g, file.path(dd, "ps_gbsg.csv"), row.names = FALSE)
write.csv(r, file.path(dd, "ps_rotterdam.csv"), row.names = FALSE)

# the factors, with R's level order (first = reference); every other confounder is numeric
sets <- list(
  gbsg = list(data = g, treat = "hormon", time = "rfstime", event = "status",
              confounders = c("age", "meno", "size", "grade", "nodes", "pgr", "er"),
              factors = list(grade = c("1", "2", "3")), landmarks = c(365, 1096, 1826)),
  rotterdam = list(data = r, treat = "chemo", time = "rtime", event = "recur",
                   confounders = c("age", "meno", "size", "grade", "nodes", "pgr", "er"),
                   factors = list(size = c("<=20", "20-50", ">50"), grade = c("2", "3")),
                   landmarks = c(1826, 3652))
)

q7 <- function(x, p) unname(quantile(x, p, type = 7))
ess <- function(w) sum(w)^2 / sum(w^2)
wvar <- function(x, w) {  # stats::cov.wt(method = "unbiased") for one column
  unname(cov.wt(matrix(x), wt = w / sum(w), method = "unbiased")$cov[1, 1])
}

# balance columns: numeric confounder = one column; factor = one 0/1 column per level
# (every level for 3+ levels, the non-reference level for 2 levels)
balance_columns <- function(d, s) {
  cols <- list()
  for (v in s$confounders) {
    if (v %in% names(s$factors)) {
      levs <- s$factors[[v]]
      shown <- if (length(levs) > 2) levs else levs[-1]
      for (lv in shown) cols[[length(cols) + 1]] <- list(variable = v, level = lv,
                                                        x = as.numeric(as.character(d[[v]]) == lv))
    } else {
      cols[[length(cols) + 1]] <- list(variable = v, level = NULL, x = as.numeric(d[[v]]))
    }
  }
  cols
}

balance <- function(cols, tr, w, estimand) {
  # w = 0 for patients not in the adjusted sample (trimmed, unmatched)
  lapply(cols, function(cl) {
    x <- cl$x
    binary <- length(unique(x)) == 2
    sdv <- function(z) if (binary) { p <- mean(z == max(x)); (max(x) - min(x))^2 * p * (1 - p) } else var(z)
    s1 <- sdv(x[tr == 1]); s0 <- sdv(x[tr == 0])
    den <- if (estimand == "ATT") sqrt(s1) else sqrt((s1 + s0) / 2)
    m1 <- mean(x[tr == 1]); m0 <- mean(x[tr == 0])
    a1 <- weighted.mean(x[tr == 1], w[tr == 1]); a0 <- weighted.mean(x[tr == 0], w[tr == 0])
    k1 <- tr == 1 & w > 0; k0 <- tr == 0 & w > 0
    list(variable = cl$variable, level = cl$level, binary = binary,
         smd_before = (m1 - m0) / den, smd_after = (a1 - a0) / den,
         variance_ratio_before = if (binary) NULL else var(x[tr == 1]) / var(x[tr == 0]),
         variance_ratio_after = if (binary) NULL else wvar(x[k1], w[k1]) / wvar(x[k0], w[k0]))
  })
}

km_part <- function(fit, times, full) {
  # one entry per arm (strata in level order 0, 1)
  st <- if (is.null(fit$strata)) rep("all", length(fit$time)) else rep(names(fit$strata), fit$strata)
  sm <- summary(fit, times = times, extend = TRUE)
  lapply(levels(factor(st, levels = names(fit$strata))), function(k) {
    i <- st == k
    j <- as.character(sm$strata) == k
    out <- list(arm = k, at_time = sm$time[j], at_survival = sm$surv[j], at_std_err = sm$std.err[j],
                at_lower = sm$lower[j], at_upper = sm$upper[j], at_n_risk = sm$n.risk[j])
    if (full) out <- c(out, list(time = fit$time[i], n_risk = fit$n.risk[i], n_event = fit$n.event[i],
                                 survival = fit$surv[i], std_err = fit$std.err[i],
                                 lower = fit$lower[i], upper = fit$upper[i]))
    out
  })
}

cox_part <- function(fit) {
  sm <- summary(fit)
  list(call = paste(deparse(fit$call), collapse = " "), coef = unname(coef(fit)[1]),
       se = unname(sqrt(diag(fit$naive.var %||% fit$var))[1]),
       robust_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(fit$var))[1]),
       hr = unname(sm$conf.int[1, 1]), lower = unname(sm$conf.int[1, 3]),
       upper = unname(sm$conf.int[1, 4]), p_value = unname(sm$coefficients[1, ncol(sm$coefficients)]))
}
`%||%` <- function(a, b) if (is.null(a)) b else a

out <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]
  d <- s$data
  for (f in names(s$factors)) d[[f]] <- factor(as.character(d[[f]]), levels = s$factors[[f]])
  d$tr <- d[[s$treat]]; d$tt <- d[[s$time]]; d$ev <- d[[s$event]]
  form <- reformulate(s$confounders, response = "tr")
  ps_fit <- glm(form, family = binomial, data = d)
  smry <- summary(ps_fit)$coefficients
  # glm's SEs come from the IRLS weights of its last-but-one iterate (glm.fit keeps the QR
  # of the last weighted least-squares step, whose weights were computed before that step);
  # the SEs at the fitted values themselves, (X'WX)^-1 with W = mu (1 - mu) from fitted(),
  # are written out too
  mu <- fitted(ps_fit); xmat <- model.matrix(ps_fit)
  se_at_fit <- sqrt(diag(solve(crossprod(xmat * sqrt(mu * (1 - mu))))))
  ps <- unname(fitted(ps_fit)); lp <- unname(ps_fit$linear.predictors)
  tr <- d$tr
  cols <- balance_columns(s$data, s)
  grid <- sort(unique(c(s$landmarks, q7(d$tt[d$ev == 1], seq(0.02, 0.98, by = 0.04)))))
  res <- list(
    data = paste0("ps_", nm), source = paste0("survival::", nm), versions = versions,
    treat = s$treat, time = s$time, event = s$event, confounders = s$confounders,
    factors = s$factors, landmarks = s$landmarks, grid = grid,
    glm = list(call = paste(deparse(ps_fit$call), collapse = " "),
               formula = paste(deparse(form), collapse = " "),
               terms = rownames(smry), coef = unname(smry[, 1]), se = unname(smry[, 2]),
               z = unname(smry[, 3]), p_value = unname(smry[, 4]),
               se_at_fit = unname(se_at_fit),
               p_value_at_fit = unname(2 * pnorm(-abs(coef(ps_fit) / se_at_fit))),
               deviance = ps_fit$deviance, null_deviance = ps_fit$null.deviance,
               df_residual = ps_fit$df.residual, aic = ps_fit$aic, iterations = ps_fit$iter,
               ps = ps, linear_predictor = lp),
    crude = cox_part(coxph(Surv(tt, ev) ~ tr, data = d)),
    adjusted = cox_part(coxph(reformulate(c("tr", s$confounders), response = "Surv(tt, ev)"), data = d)),
    unweighted_n_risk = lapply(split(d, d$tr), function(x) {
      f <- survfit(Surv(tt, ev) ~ 1, data = x)
      summary(f, times = grid, extend = TRUE)$n.risk
    }),
    weighting = list(), matching = list()
  )

  # ---- weighting scenarios
  pbar <- mean(tr)
  wfun <- function(estimand, e, t, stabilise = TRUE, pb = mean(t)) {
    switch(estimand,
           ATE = if (stabilise) ifelse(t == 1, pb / e, (1 - pb) / (1 - e)) else ifelse(t == 1, 1 / e, 1 / (1 - e)),
           ATT = ifelse(t == 1, 1, e / (1 - e)),
           overlap = ifelse(t == 1, 1 - e, e))
  }
  scen <- list(
    list(name = "ATE", estimand = "ATE", stabilise = TRUE, conf_type = "log-log", full = TRUE),
    list(name = "ATE_log", estimand = "ATE", stabilise = TRUE, conf_type = "log", full = FALSE),
    list(name = "ATE_plain", estimand = "ATE", stabilise = TRUE, conf_type = "plain", full = FALSE),
    list(name = "ATE_unstabilised", estimand = "ATE", stabilise = FALSE, conf_type = "log-log", full = FALSE),
    list(name = "ATT", estimand = "ATT", stabilise = TRUE, conf_type = "log-log", full = FALSE),
    list(name = "overlap", estimand = "overlap", stabilise = TRUE, conf_type = "log-log", full = FALSE),
    list(name = "ATE_trim", estimand = "ATE", stabilise = TRUE, conf_type = "log-log", full = FALSE,
         trim = c(0.05, 0.95)),
    list(name = "ATE_truncate", estimand = "ATE", stabilise = TRUE, conf_type = "log-log", full = FALSE,
         truncate = c(0.01, 0.99)),
    list(name = "ATT_trim_truncate", estimand = "ATT", stabilise = TRUE, conf_type = "log-log", full = FALSE,
         trim = c(0.02, 0.98), truncate = c(0, 0.95))
  )
  for (sc in scen) {
    keep <- rep(TRUE, nrow(d))
    if (!is.null(sc$trim)) {
      # patients whose propensity lies outside [q(lo), q(hi)] of all complete-case
      # propensities (type 7 quantiles) are dropped; the propensity model is not refitted
      lim <- q7(ps, sc$trim)
      keep <- ps >= lim[1] & ps <= lim[2]
    }
    dk <- d[keep, ]
    w <- wfun(sc$estimand, ps[keep], tr[keep], sc$stabilise)
    tlim <- NULL
    if (!is.null(sc$truncate)) {
      # weights outside [q(lo), q(hi)] of all kept patients' weights are set to the limit
      tlim <- q7(w, sc$truncate)
      w <- pmin(pmax(w, tlim[1]), tlim[2])
    }
    dk$w <- w
    wall <- rep(0, nrow(d)); wall[keep] <- w
    km <- survfit(Surv(tt, ev) ~ tr, data = dk, weights = w, robust = TRUE, id = id,
                  conf.type = sc$conf_type)
    cx <- coxph(Surv(tt, ev) ~ tr, data = dk, weights = w, robust = TRUE)
    res$weighting[[sc$name]] <- list(
      estimand = sc$estimand, stabilise = sc$stabilise, conf_type = sc$conf_type,
      trim = sc$trim, truncate = sc$truncate, trim_limits = if (is.null(sc$trim)) NULL else q7(ps, sc$trim),
      truncate_limits = tlim, dropped = I(which(!keep)), n_kept = sum(keep),
      weight_sum = c(sum(w[tr[keep] == 0]), sum(w[tr[keep] == 1])),
      weight_max = max(w),
      ess = c(ess(w[tr[keep] == 0]), ess(w[tr[keep] == 1])),
      balance = balance(cols, tr, wall, sc$estimand),
      km_call = sprintf("survfit(Surv(%s, %s) ~ %s, data = d, weights = w, robust = TRUE, id = id, conf.type = '%s')",
                        s$time, s$event, s$treat, sc$conf_type),
      km = km_part(km, grid, sc$full && nm == "gbsg"),
      cox = cox_part(cx)
    )
  }

  # ---- matching scenarios
  mscen <- list(list(name = "nearest_1", ratio = 1, caliper = 0.2),
                list(name = "nearest_2", ratio = 2, caliper = 0.2),
                list(name = "nearest_1_nocaliper", ratio = 1, caliper = NULL))
  for (sc in mscen) {
    mcall <- if (is.null(sc$caliper)) {
      bquote(matchit(.(form), data = d, method = "nearest", distance = "glm", link = "linear.logit",
                     ratio = .(sc$ratio)))
    } else {
      bquote(matchit(.(form), data = d, method = "nearest", distance = "glm", link = "linear.logit",
                     caliper = .(sc$caliper), std.caliper = TRUE, ratio = .(sc$ratio)))
    }
    m <- suppressWarnings(eval(mcall))
    if (!is.null(m$caliper)) {
      gap <- abs(m$distance[rownames(m$match.matrix)] - m$distance[m$match.matrix[, 1]])
      if (any(gap > m$caliper, na.rm = TRUE))
        stop("this MatchIt build does not apply its caliper (integer abs); see the note at the top")
    }
    mm <- m$match.matrix  # row names of d; written as row positions (1-based)
    pos <- setNames(seq_len(nrow(d)), rownames(d))
    rows <- unname(pos[rownames(mm)])
    pairs <- lapply(seq_len(nrow(mm)), function(i) {
      ctl <- unname(pos[mm[i, ][!is.na(mm[i, ])]])
      list(treated = rows[i], controls = I(ctl))
    })
    pairs <- pairs[vapply(pairs, function(p) length(p$controls) > 0, logical(1))]
    md <- match.data(m)
    md$subclass <- as.integer(as.character(md$subclass))
    km <- survfit(Surv(tt, ev) ~ tr, data = md, weights = weights, robust = TRUE, cluster = subclass,
                  conf.type = "log-log")
    cx <- coxph(Surv(tt, ev) ~ tr, data = md, weights = weights, cluster = subclass)
    res$matching[[sc$name]] <- list(
      call = paste(deparse(mcall, width.cutoff = 500), collapse = " "),
      ratio = sc$ratio, caliper = sc$caliper,
      caliper_logit = if (is.null(m$caliper)) NULL else unname(m$caliper),
      distance_is_glm_logit = isTRUE(all.equal(unname(m$distance), lp, tolerance = 1e-12)),
      pairs = pairs, weights = unname(m$weights),
      n_matched_treated = sum(m$weights[tr == 1] > 0), n_matched_control = sum(m$weights[tr == 0] > 0),
      balance = balance(cols, tr, unname(m$weights), "ATT"),
      ess = c(ess(m$weights[tr == 0 & m$weights > 0]), ess(m$weights[tr == 1 & m$weights > 0])),
      km_call = "survfit(Surv(time, event) ~ treat, data = match.data(m), weights = weights, robust = TRUE, cluster = subclass, conf.type = 'log-log')",
      km = km_part(km, grid, nm == "gbsg"),
      cox = cox_part(cx)
    )
  }
  out[[nm]] <- res
}

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE),
           "tests/reference/propensity.json")
