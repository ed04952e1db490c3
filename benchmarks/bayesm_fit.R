# The bayesm side of benchmarks/hb_vs_bayesm.py: hierarchical MNL with bayesm's
# rhierMnlRwMixture (one normal component, default priors) on choices written by the script.
#
# Usage: Rscript benchmarks/bayesm_fit.R DATA.csv OUT_DIR [R] [KEEP] [SEED]
#
# DATA.csv: one row per alternative, columns resp (1..N), obs (1..T within respondent),
#   alt (1..p), chosen (0/1), then the design columns (any names), in winback's coding.
# Writes into OUT_DIR:
#   betadraw.bin  every kept individual draw, little-endian float64, R's column-major order of
#                 the array betadraw[respondent, parameter, kept draw] (burn-in included)
#   timing.json   seconds of the rhierMnlRwMixture call (proc.time elapsed / user / system),
#                 of reading the data and of writing the draws, and the array's dimensions

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) {
  stop("usage: Rscript bayesm_fit.R DATA.csv OUT_DIR [R] [KEEP] [SEED]")
}
data_file <- args[1]
out_dir <- args[2]
n_iter <- if (length(args) >= 3) as.integer(args[3]) else 20000L
keep <- if (length(args) >= 4) as.integer(args[4]) else 10L
seed <- if (length(args) >= 5) as.integer(args[5]) else 1L

t_read <- proc.time()
suppressPackageStartupMessages(library(bayesm))
d <- read.csv(data_file)
d <- d[order(d$resp, d$obs, d$alt), ]
xcols <- setdiff(names(d), c("resp", "obs", "alt", "chosen"))
p <- max(d$alt)
n_resp <- max(d$resp)
rows <- split(seq_len(nrow(d)), d$resp)  # integer ids: levels in numeric order 1..N
stopifnot(length(rows) == n_resp, all(names(rows) == as.character(seq_len(n_resp))))
lgtdata <- lapply(rows, function(i) {
  g <- d[i, ]
  # y: index 1..p of the chosen alternative of each task; X: the tasks' rows stacked
  list(y = g$alt[g$chosen == 1], X = as.matrix(g[, xcols]))
})
names(lgtdata) <- NULL
read_seconds <- (proc.time() - t_read)[["elapsed"]]

set.seed(seed)
t0 <- proc.time()
out <- rhierMnlRwMixture(
  Data = list(p = p, lgtdata = lgtdata),
  Prior = list(ncomp = 1),
  Mcmc = list(R = n_iter, keep = keep, nprint = 0)
)
fit <- proc.time() - t0

t_write <- proc.time()
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
con <- file(file.path(out_dir, "betadraw.bin"), "wb")
writeBin(as.double(out$betadraw), con, size = 8, endian = "little")
close(con)
write_seconds <- (proc.time() - t_write)[["elapsed"]]
dims <- dim(out$betadraw)
json <- sprintf(
  paste0(
    '{"elapsed": %.4f, "user": %.4f, "system": %.4f, "read_seconds": %.4f, ',
    '"write_seconds": %.4f, "n_respondents": %d, "n_parameters": %d, "n_kept": %d, ',
    '"R": %d, "keep": %d, "seed": %d, "bayesm": "%s", "r_version": "%s"}'
  ),
  fit[["elapsed"]], fit[["user.self"]], fit[["sys.self"]], read_seconds, write_seconds,
  dims[1], dims[2], dims[3], n_iter, keep, seed, as.character(packageVersion("bayesm")),
  R.version$version.string
)
writeLines(json, file.path(out_dir, "timing.json"))
