# %% [markdown]
# # Randomized experiments: design-based analysis with netexp
#
# This notebook redoes the teaching notebook *01. Randomized Experiments* (an onboarding checklist
# tested on a 30-day value score) with netexp. The questions are the same: what does a randomized
# experiment estimate, why is the difference in means unbiased, what do balance checks, standard
# errors, randomization tests, regression adjustment, segment readouts and blocking add, and what
# can still go wrong. Each step is a call to netexp's public API.
#
# Randomization does not make the world simple; it makes the **assignment mechanism known**. All
# inference below is *design-based*: the potential outcomes of the 20,000 accounts are held fixed
# and the only randomness is which accounts the design treats.
#
# The original notebook's code has a few errors. Where netexp does something different, a
# **Seed notebook** note says what and why; §16 lists them all. There is no interference here
# except in §12, which previews notebook 03.

# %%
import json
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import netexp as ne
from netexp.plots import plot_randomization_distribution  # a public module that `import netexp` does not load

pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
plt.rcParams.update({"figure.dpi": 110, "figure.figsize": (7, 3.2), "font.size": 10})

# %% [markdown]
# ## 1. Potential outcomes
#
# Unit $i$ has two potential outcomes: $Y_i(1)$ if treated and $Y_i(0)$ if not. With $Z_i \in \{0, 1\}$
# its assignment, we observe
#
# $$Y_i^{obs} = Z_i Y_i(1) + (1 - Z_i) Y_i(0).$$
#
# Writing $Y_i$ as a function of $Z_i$ alone assumes **no interference** (SUTVA): one account's
# outcome does not depend on whether *other* accounts were treated. netexp exists for experiments
# where that fails (§12, notebook 03); here it holds.
#
# The estimand is the **finite-population average treatment effect** of the $N$ accounts in the
# experiment,
#
# $$\tau = \frac1N \sum_{i=1}^N \{Y_i(1) - Y_i(0)\}.$$
#
# A **completely randomized** design treats exactly $N_1$ of the $N$ units, each of the
# $\binom{N}{N_1}$ such sets with the same probability. Then $P(Z_i = 1) = N_1/N$ for every unit, and
# $Z$ is independent of the potential outcomes *by construction*: covariates still predict
# outcomes, but nothing about a unit's outcomes changes its chance of treatment. (The seed notebook
# draws this as a DAG in which the only arrow into the assignment comes from the random number
# generator.)

# %% [markdown]
# ## 2. The synthetic population
#
# `ne.HeterogeneousPopulation` is the seed notebook's population as an outcome model. Covariates:
# `segment` (new / growing / mature), `prior_usage`, `account_age`, `is_team_account`. Potential
# outcomes:
#
# $$Y_i(0) = 25 + 4.8 \log(1 + u_i) + 0.18 a_i + 2.4 t_i + b_{s_i} + \varepsilon_i, \qquad
#   \varepsilon_i \sim N(0, 6^2),$$
# $$\tau_i = 1.4 + d_{s_i} - 0.35 \log(1 + u_i) + 0.5 t_i, \qquad Y_i(1) = Y_i(0) + \tau_i,$$
#
# with segment baselines $b = (-3, 1.5, 4)$ and effect shifts $d = (2.2, 0.9, 0)$ for
# (new, growing, mature). New, light users benefit most. `realize` draws the covariates and the
# noise once: from then on the population is fixed. `rng=10` reproduces the seed notebook's
# population exactly (ATE 2.3273; segment sizes 6,961 / 7,958 / 5,081).

# %%
po = ne.HeterogeneousPopulation().realize(20_000, rng=10)
X = po.covariates                       # pre-treatment covariates, one row per account
true_ate = po.truth["average treatment effect"]
pd.DataFrame({
    "quantity": ["finite-population ATE"] + [f"CATE, {s} accounts" for s in po.segment_effects.index],
    "value": [true_ate, *po.segment_effects],
    "accounts": [len(X)] + X["segment"].value_counts().reindex(po.segment_effects.index).tolist(),
}).round(4)

# %% [markdown]
# **Seed notebook.** It stores the new-account average as `true_att_if_all_new`. That is a
# *conditional* average effect (CATE) of one segment. It is not an ATT, which is the average
# effect on the units that were treated.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].hist(po.y0, bins=50, color="#6c757d")
axes[0].set(title="Control potential outcomes", xlabel="Y(0): 30-day value", ylabel="accounts")
segments = list(po.segment_effects.index)
axes[1].boxplot([po.tau[(X["segment"] == s).to_numpy()] for s in segments], showfliers=False)
axes[1].set_xticks(range(1, len(segments) + 1), segments)
axes[1].axhline(true_ate, color="#b23a48", linestyle="--", label=f"ATE {true_ate:.2f}")
axes[1].set(title="Unit effects are heterogeneous", ylabel=r"$\tau_i = Y_i(1) - Y_i(0)$")
axes[1].legend()
fig.tight_layout()

# %% [markdown]
# ## 3. Complete randomization and the difference in means
#
# The design is declared once, as an object. It draws assignments, and later it supplies the
# reference distribution for balance checks and randomization tests.
#
# $$\hat\tau = \bar Y^{obs}_T - \bar Y^{obs}_C$$
#
# is unbiased for $\tau$ over the randomization. The reason is that $E[Z_i] = N_1/N$, so
# $E\big[\tfrac1{N_1}\sum_i Z_i Y_i(1)\big] = \tfrac1N \sum_i Y_i(1)$, and likewise for control.
# No model of the outcome is needed.

# %%
design = ne.Complete(len(X), p=0.5)     # exactly 10,000 of 20,000 treated, every such set equally likely
z = design.sample(rng=101)
y = po.outcomes(z)                      # Y_obs = Z Y(1) + (1 - Z) Y(0)
est = ne.difference_in_means(y, z)
print(est.summary())
print(f"\ntrue ATE {true_ate:.4f}; this experiment's error {est.estimate - true_ate:+.4f}")

# %% [markdown]
# netexp draws complete assignments with its own algorithm, so `rng=101` does not give the seed's
# assignment: our estimate is 2.399, the seed's 2.422. Each is one draw from the same randomization
# distribution (§4). The estimate misses the truth by about 0.7 standard errors: unbiased does not
# mean exact.
#
# **Seed notebook.** Its histograms of the two arms pass `labels=["Treatment", "Control"]` alone to
# `ax.legend` after seaborn's hue plots. Matplotlib then attaches those labels to the first
# artists on the axes in drawing order, not to the hue groups (its documentation warns against
# this), so the legend does not reliably say which arm is which. Below, each arm is drawn with its
# own label.

# %%
fig, ax = plt.subplots()
bins = np.linspace(np.percentile(y, 0.5), np.percentile(y, 99.5), 50)
for arm, name, color in ((True, "treated", "#2f6f9f"), (False, "control", "#b23a48")):
    ax.hist(y[z == arm], bins=bins, density=True, histtype="step", linewidth=1.8, color=color,
            label=f"{name} (mean {y[z == arm].mean():.2f})")
ax.set(title="Observed outcomes in one randomized experiment", xlabel="observed 30-day value", ylabel="density")
ax.legend();

# %% [markdown]
# ## 4. Unbiasedness by repeated randomization
#
# In practice we get one assignment. Inference is about the assignments that *could* have
# happened. With known potential outcomes we can draw them: `ne.repeated_randomization`
# re-randomizes the fixed population with the design and reports the mean estimate, the bias with
# its Monte Carlo standard error, the randomization SD, the mean estimated SE and the coverage of
# the 95% intervals.

# %%
rr = ne.repeated_randomization(design, po, n_draws=1000, rng=202)
rr.to_frame().round(4)

# %%
ax = plot_randomization_distribution(rr.estimates, truth=rr.truth, observed=est.estimate,
                                     label="difference in means")

# %% [markdown]
# The distribution is centred on the truth. The bias of about -0.002 is within one Monte Carlo SE
# ($\mathrm{SD}/\sqrt{R} \approx 0.003$) of zero. Its spread, about 0.105, is the design-based
# uncertainty. The design makes the estimator target $\tau$; sample size and outcome noise set how
# precisely.
#
# **Seed notebook.** It reports a "Monte Carlo bias" of -0.005 without its Monte Carlo error, so
# the reader cannot judge whether it differs from zero. It also reseeds a new generator from
# `rng.integers` in every draw; netexp drives all draws from one stream.

# %% [markdown]
# ## 5. Balance: expected, not guaranteed
#
# Randomization balances pre-treatment covariates *in expectation*. In any one assignment some
# imbalance always remains. For each covariate the table gives the standardized difference
# $(\bar x_T - \bar x_C) / \sqrt{(s_T^2 + s_C^2)/2}$ (categorical covariates as one dummy per level)
# and the variance ratio. Passing `design=` adds what a fixed threshold cannot: the randomization
# distribution of each statistic under *this* design. That gives randomization p-values, the 95th
# percentile of chance imbalance, and Morgan & Rubin's Mahalanobis $M$ over all covariates.

# %%
bt = ne.balance_table(X, z, design=design, n_draws=500, rng=1)
print(bt.summary())

# %%
ax = bt.plot()

# %% [markdown]
# With 10,000 accounts per arm, chance alone rarely produces a standardized difference above 0.03.
# The usual 0.1 rule of thumb is therefore lenient at this size, and strict with 50 units per arm.
# A balance check tests the **implementation** (a broken randomization key, an eligibility filter
# applied after assignment, lost units: §12). It is not a ritual in which one small p-value
# invalidates the experiment. Our confidence in the estimate comes from the assignment mechanism,
# not from this table.
#
# **Seed notebook.** Its balance table leaves out `segment`, the covariate that predicts outcomes
# most strongly.

# %% [markdown]
# ## 6. Randomized versus targeted assignment
#
# Suppose instead that the company gives the checklist to the half of accounts that *look* most
# promising. The seed notebook's score is $0.9 \log(1 + u) + 0.05 a + 0.6 t$. `ne.targeted_vs_randomized`
# runs both assignments on the same population (the randomized one is our `z`: same design, same
# seed) and splits each difference in means exactly into
#
# $$\bar Y_T - \bar Y_C = \underbrace{\overline{Y(0)}_T - \overline{Y(0)}_C}_{\text{selection bias}}
#   + \underbrace{\overline{\tau}_T}_{\text{effect on the treated (ATT)}}.$$

# %%
score = (0.9 * np.log1p(X["prior_usage"]) + 0.05 * X["account_age"] + 0.6 * X["is_team_account"]).to_numpy()
z_targeted = score >= np.quantile(score, 0.5)
tv = ne.targeted_vs_randomized(po, score=score, design=design, rng=101)
tv.set_index("assignment")[["estimate", "std_error", "ci_low", "ci_high", "truth", "error", "selection_bias",
                            "effect_among_treated"]].round(3)

# %% [markdown]
# Targeting overstates the effect more than threefold (7.64 against 2.33). Almost all of the error
# is selection bias: the targeted accounts would have had higher value *without* the checklist.
# Here the ATT happens to be close to the ATE. Targeted accounts are heavier users (smaller effects)
# but more often team accounts (larger effects), and the two roughly cancel. The targeted interval
# is as narrow as the randomized one and far from the truth. A standard error measures noise; it
# says nothing about bias, and without randomization nothing justifies its causal reading. The
# balance table shows the problem before any outcome is seen:

# %%
bt_targeted = ne.balance_table(X, z_targeted)
pd.DataFrame({"randomized": bt.std_difference, "targeted": bt_targeted.std_difference},
             index=pd.Index(bt.covariates, name="standardized difference")).round(3)

# %% [markdown]
# ## 7. Standard errors and confidence intervals
#
# Neyman's variance estimator for the difference in means is
#
# $$\widehat V = \frac{s_T^2}{n_T} + \frac{s_C^2}{n_C},$$
#
# with the true randomization variance under complete randomization
#
# $$V = \frac{S_1^2}{N_1} + \frac{S_0^2}{N_0} - \frac{S_\tau^2}{N},$$
#
# where $S_1^2, S_0^2, S_\tau^2$ are the finite-population variances of $Y(1)$, $Y(0)$ and $\tau_i$.
# Since $E[\widehat V] = S_1^2/N_1 + S_0^2/N_0$, the estimator is **conservative**. It omits
# $S_\tau^2/N$, which cannot be estimated because no unit reveals both potential outcomes, and it
# is unbiased only when effects are constant. In the simulation all three quantities are known:

# %%
n1, n0 = int(z.sum()), int((~z).sum())
s1, s0, s_tau = po.y1.var(ddof=1), po.y0.var(ddof=1), po.tau.var(ddof=1)
pd.DataFrame({
    "quantity": ["true randomization SD, sqrt(V)", "expected Neyman SE, sqrt(E[V_hat])",
                 "SD over 1,000 re-randomizations", "mean Neyman SE over them", "coverage of 95% intervals"],
    "value": [np.sqrt(s1 / n1 + s0 / n0 - s_tau / len(X)), np.sqrt(s1 / n1 + s0 / n0), rr.sd,
              rr.std_errors.mean(), rr.coverage],
}).round(4)

# %% [markdown]
# The conservative term is tiny here. The unit effects vary (SD about 1), but far less than the
# outcome noise (SD 6), so the Neyman SE is essentially exact and the intervals cover about 95% of
# the time. `Estimate` carries the interval: a Student t reference with Welch degrees of freedom,
# at any level.

# %%
print(est.summary())
for level in (0.90, 0.95, 0.99):
    lo, hi = est.confidence_interval(level)
    print(f"{level:.0%} CI [{lo:.3f}, {hi:.3f}]")

# %% [markdown]
# Reading an interval for a launch decision: is it above zero, and above the smallest effect that
# would justify the launch? Does it include effects too small to matter? Were the guardrail metrics
# acceptable and the experiment implemented as declared (§12)? A significant effect can be too
# small to matter, and a large one can be too imprecise to act on.

# %% [markdown]
# ## 8. Randomization inference for the sharp null
#
# Fisher's sharp null hypothesis is that treatment has no effect for any unit:
# $H_0: Y_i(1) = Y_i(0)$ for all $i$. Under it every unit's outcome is the same under every
# assignment, so the distribution of any statistic over the **design's own** assignments is known.
# `ne.randomization_test` draws those assignments from the design object, so a stratified, blocked
# or cluster design brings its own null. The Monte Carlo p-value
# $(1 + \#\{|T^*_r - E_0| \ge |t - E_0|\})/(1 + R)$ counts the observed assignment as one draw. It
# is valid at every level for any number of draws $R$, and never 0.

# %%
rt = ne.randomization_test(y, z, design, n_draws=2000, rng=303)
print(rt.summary())
ax = rt.plot()

# %% [markdown]
# None of the 2,000 null draws comes near 2.40, so $p = 1/2001 \approx 0.0005$. That is the
# smallest p-value 2,000 draws can give; more draws would lower it.
#
# **Seed notebook.** It reports $p = 0.0000$, which is not a valid p-value: a Monte Carlo
# randomization test cannot reject at a level below $1/(R + 1)$.
#
# Two cautions. (1) The sharp null says no effect *for anyone*. It is not Neyman's weak null
# "$\tau = 0$". With the difference in means as statistic, the test can reject too often under the
# weak null when effects are heterogeneous and arms differ in size. The studentized statistic keeps
# the exact test of the sharp null and is also asymptotically valid for the weak null (Wu & Ding
# 2021). (2) Inverting tests of *constant-effect* nulls $Y_i(1) = Y_i(0) + \tau_0$ gives a
# confidence interval for $\tau$, valid if the effect is constant. netexp finds it exactly for
# linear statistics, with no grid. With heterogeneous effects, read it as an approximation next to
# the Neyman interval.

# %%
rt_stud = ne.randomization_test(y, z, design, statistic="studentized", n_draws=2000, rng=303)
ri_ci = ne.randomization_confidence_interval(y, z, design, n_draws=2000, rng=304)
pd.DataFrame({
    "interval": ["Neyman (t, Welch df)", "randomization (constant effect, test inversion)"],
    "low": [est.ci[0], ri_ci.low], "high": [est.ci[1], ri_ci.high],
}).round(3).assign(studentized_test_p=[np.nan, rt_stud.p_value])

# %% [markdown]
# ## 9. Regression adjustment
#
# Randomization already identifies $\tau$; regression does not remove any confounding here. It
# adds **precision**: pre-treatment covariates that predict the outcome absorb part of its
# variance. `ne.regression_adjustment_comparison` fits three models (unadjusted, additive, and
# Lin's interacted adjustment) with heteroskedasticity-robust SEs. HC2 reproduces the Neyman SE
# exactly in the unadjusted row; the seed's HC1 is slightly larger. `ne.lin_estimator` is Lin's
# estimator on its own.
#
# Lin (2013) regresses $Y$ on $Z$, the covariates **centred** at their mean $\tilde x_i$, and
# $Z_i \tilde x_i$. Centring makes the coefficient on $Z$ the average effect. The estimator is
# consistent, and asymptotically no less precise than the difference in means even when the
# regression model is wrong. Its HC2 variance is conservative in the same sense as Neyman's.

# %%
X_adj = X.assign(prior_usage=np.log1p(X["prior_usage"])).rename(columns={"prior_usage": "log1p_prior_usage"})
ra = ne.regression_adjustment_comparison(y, z, X_adj, cov_type="HC2")
lin = ne.lin_estimator(y, z, X_adj)
ra[["model", "estimate", "std_error", "ci_low", "ci_high", "r_squared", "n_parameters"]].round(4)

# %%
ax = ne.EstimateTable([est, lin]).plot(truth=true_ate, label_by="method")

# %% [markdown]
# The covariates explain about a third of the outcome variance (R² 0.35). The SE falls from 0.104
# to 0.085, a third less variance, which is what a 50% larger unadjusted experiment would buy.
#
# **Seed notebook.** Its "interactions" model `Y_obs ~ Z * C(segment) + ...` interacts $Z$ with
# *uncentred* segment dummies. Its coefficient on `Z` is then the effect in the **reference
# segment** (alphabetically first: "growing"), not the average effect it is presented as. Its 2.334
# happens to sit near the ATE, but what it estimates is the growing segment's 2.106. Which segment
# is the reference is arbitrary. netexp's segment order makes "new" the reference, and the same
# uncentred regression then returns an estimate of the new accounts' effect:

# %%
seg_dummies = pd.get_dummies(X["segment"], drop_first=True, dtype=float)   # reference level: "new"
zf = z.astype(float)
D = np.column_stack([np.ones(len(X)), zf, seg_dummies, zf[:, None] * seg_dummies.to_numpy(),
                     X_adj[["log1p_prior_usage", "account_age", "is_team_account"]]])
coef_z = np.linalg.lstsq(D, y, rcond=None)[0][1]
print(f"coefficient on Z, uncentred interactions: {coef_z:.3f}   (CATE of 'new' accounts "
      f"{po.segment_effects['new']:.3f}; ATE {true_ate:.3f}; Lin {lin.estimate:.3f})")

# %% [markdown]
# The guardrail: adjust only for covariates measured **before** assignment. Adjusting for
# post-treatment variables (activation, clicks, usage during the experiment) changes the estimand
# from the total effect into a controlled-direct-effect-like contrast and can introduce bias.

# %% [markdown]
# ## 10. Segment effects and multiple testing
#
# Within each segment the difference in means estimates that segment's CATE.
# `ne.segment_effects` reports them with per-segment intervals and p-values adjusted for testing
# several segments (Holm by default: family-wise error at most 5%). Pre-specify segments and label
# any others exploratory. Segments are smaller than the whole experiment, so their intervals are
# wider.

# %%
seg = ne.segment_effects(y, z, X["segment"], truth=po.segment_effects)
print(seg.attrs["note"])
seg[["segment", "n", "estimate", "std_error", "ci_low", "ci_high", "p_value", "p_adjusted", "truth"]]

# %% [markdown]
# All three intervals contain their segment's truth. The pattern (new > growing > mature) is
# recovered. Here every effect is large, so adjustment changes no conclusion. It matters when
# effects are small and segments are many. In an **A/A test** (outcomes that do not depend on the
# assignment, so every null hypothesis is true), the chance that at least one of 10 arbitrary
# segments (account-age deciles) shows $p < 0.05$ is about $1 - 0.95^{10} \approx 40\%$.
# `ne.adjust_pvalues` brings it back to 5%:

# %%
age_decile = pd.qcut(X["account_age"], 10, labels=False).to_numpy()
any_raw, any_holm = [], []
for z_aa in design.sample_many(300, rng=7):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)    # "10 segment tests without adjustment"
        s = ne.segment_effects(po.y0, z_aa, age_decile, adjust="none")
    any_raw.append((s["p_value"] < 0.05).any())
    any_holm.append(ne.adjust_pvalues(s["p_value"], method="holm", alpha=0.05)[1].any())
print(f"A/A tests with at least one 'significant' segment of 10: unadjusted {np.mean(any_raw):.0%}, "
      f"Holm {np.mean(any_holm):.0%}   (300 A/A tests)")

# %% [markdown]
# **Seed notebook.** Its segment readout has no adjustment and uses 1.96 whatever the segment
# size. netexp uses Welch t intervals, and `adjust="none"` with several segments issues the
# warning suppressed above.

# %% [markdown]
# ## 11. Blocking (stratified randomization)
#
# `ne.Stratified` randomizes 50/50 **within** each segment. The estimand is still the overall ATE.
# The estimator is the block-size-weighted average of within-block differences,
# $\hat\tau = \sum_s \frac{n_s}{n}(\bar Y_{1s} - \bar Y_{0s})$, with variance
# $\sum_s (n_s/n)^2 (s_{1s}^2/n_{1s} + s_{0s}^2/n_{0s})$, conservative as before. Blocking removes
# the between-block part of the variance, so it helps when blocks predict outcomes.
# `ne.blocking_precision` runs `ne.diagnose` over complete and blocked randomization of the fixed
# population and compares the true spread (`sd`) with each estimator's mean SE. We block on
# segment, and on segment × prior-usage quartile (12 blocks).

# %%
usage_quartile = pd.qcut(X["prior_usage"], 4, labels=["u1", "u2", "u3", "u4"]).astype(str)
blocks_fine = (X["segment"].astype(str) + "/" + usage_quartile).to_numpy()
dx_seg = ne.blocking_precision(po, "segment", n_sims=600, rng=505)
dx_fine = ne.blocking_precision(po, blocks_fine, n_sims=600, rng=506)
cols = ["design", "estimator", "mean_estimate", "bias", "sd", "sd_mc_se", "mean_se", "coverage"]
pd.concat([
    dx_seg.to_frame()[cols].replace({"design": {"blocked": "blocked: segment"}}),
    dx_fine.to_frame()[cols].query("design == 'blocked'").replace({"design": {"blocked": "blocked: segment x usage"}}),
], ignore_index=True).round(4)

# %% [markdown]
# All designs are unbiased. Blocking on segment lowers the SD from 0.108 to 0.097, and adding
# usage quartiles lowers it to 0.089 (a third less variance than complete randomization). (Under complete randomization the "stratified" estimator has
# one stratum and equals the difference in means.) The plain difference-in-means SE does not see
# the blocking: its mean SE under the blocked designs stays near 0.104, above the true SD. It is
# valid but wastes the precision the design bought (its intervals over-cover, 97-98%). The blocked
# variance estimator tracks the SD.
#
# **Seed notebook.** Its blocked readout reuses the unblocked two-sample SE, so its table shows the
# same 0.104 for both designs. Blocking seems to gain nothing there, while its own simulation shows
# a smaller SD.
#
# For a single blocked experiment, Lin's estimator with the block dummies as covariates *is* the
# blocked estimator: the same estimate, and HC2 gives the same variance. Randomization tests take
# their null draws from the `Stratified` design, so treatment labels are only permuted within
# blocks.

# %%
plan = ne.Stratified(X["segment"].to_numpy(), p=0.5)
z_b = plan.sample(rng=404)
y_b = po.outcomes(z_b)
blocked_readout = ne.lin_estimator(y_b, z_b, X[["segment"]])
naive_readout = ne.difference_in_means(y_b, z_b)
rt_b = ne.randomization_test(y_b, z_b, plan, n_draws=1000, rng=405)
pd.DataFrame({"readout of the blocked experiment": ["blocked estimator (Lin, block dummies, HC2)",
                                                    "difference in means (ignores the blocks)"],
              "estimate": [blocked_readout.estimate, naive_readout.estimate],
              "std_error": [blocked_readout.std_error, naive_readout.std_error]}).round(4).assign(
    randomization_p=[rt_b.p_value, np.nan])

# %% [markdown]
# Common blocking variables in industry: country, platform, market, account type, risk tier,
# seller size, and pre-period activity bands. `ne.Blocked` blocks consecutive units in **arrival
# order**, which keeps the arms balanced over time if the experiment stops early. It gains nothing
# here, where arrival order carries no information.

# %% [markdown]
# ## 12. What can still go wrong
#
# ### Sample ratio mismatch
#
# Suppose the outcome event fails to log for some treated low-usage accounts: the new checklist
# crashes an old client. The planned 10,000 / 10,000 split becomes uneven among the *analyzed*
# accounts. `ne.srm_test` with the design knows that the design fixed the counts at 10,000 each.
# It asks whether the lost units are spread over the arms as planned (a hypergeometric, "lost
# units" test), which is far sharper than the usual goodness-of-fit test against 50%.

# %%
low_usage = (X["prior_usage"] < X["prior_usage"].quantile(0.2)).to_numpy()
lost = z & low_usage & (np.random.default_rng(12).random(len(X)) < 0.15)
kept = ~lost
srm = ne.srm_test(z[kept], design=design)
print(srm.summary())
print(f"goodness of fit against 50% only: p = {ne.srm_test(z[kept], expected=0.5).p_value:.3g}")
e_kept = ne.difference_in_means(y[kept], z[kept])
bt_kept = ne.balance_table(X[kept], z[kept])
print(f"\nestimate on the analyzed units {e_kept.estimate:.3f} (all units {est.estimate:.3f}, truth {true_ate:.3f}); "
      f"std diff of prior_usage {bt_kept.std_difference[bt_kept.covariates.index('prior_usage')]:.3f}")

# %% [markdown]
# Losing 311 treated accounts (3% of the arm), all light users, moves the estimate up by about one
# standard error. The SRM test flags the loss beyond doubt. The goodness-of-fit test against 50%
# would not flag it at the usual SRM level of 0.001, and the balance table looks fine by the 0.1
# rule of thumb (a standardized difference of 0.03 in prior usage). Run the SRM check on the units
# that survive every filter and join, before reading any estimate.
#
# | threat | symptom | netexp / response |
# |---|---|---|
# | sample ratio mismatch | analyzed counts differ from the plan | `ne.srm_test(z_analyzed, design=...)` |
# | broken randomization | imbalance beyond the design's chance | `ne.balance_table(..., design=...)` |
# | noncompliance | assignment differs from exposure | report the ITT of assignment; IV for the effect of receipt |
# | attrition | outcome missing more in one arm | compare missingness by arm; bounds |
# | interference | control units affected by treated ones | cluster / network designs (notebook 03) |
# | logging bugs | assignment, exposure and outcome disagree | A/A tests, invariant metrics |
# | peeking | stopped on a noisy interim result | fixed horizon or a sequential design |
# | multiple testing | many metrics / segments searched | pre-specify; `ne.segment_effects`, `ne.adjust_pvalues` |

# %% [markdown]
# ### Interference: a preview of notebook 03
#
# Everything above assumed that one account's treatment does not change another's outcome. Let the
# same population live on a social network (`ne.load_graph("social")`, 3,000 users). Each user's
# value rises by $\gamma = 1.5$ times the *fraction of their neighbours treated*. The policy
# question is the **global effect**: everyone gets the checklist versus no one. It equals the
# direct effect plus the spillover. Randomizing users individually and taking the difference in
# means estimates only the direct part: treated and control users have, on average, the same share
# of treated neighbours, so the spillover cancels out of the contrast.

# %%
g = ne.load_graph("social")
net_design = ne.Complete(g.n_nodes, p=0.5)
dx_net = ne.diagnose({"complete, individual users": net_design}, ["difference-in-means"],
                     ne.HeterogeneousPopulation(spillover=1.5), g, n_sims=300, rng=11, noise="fixed",
                     diagnosands=("bias", "sd", "mean_se", "coverage"))
print({k: round(v, 3) for k, v in dx_net.truth.items()})
dx_net.to_frame()[["design", "estimator", "estimand", "mean_estimand", "mean_estimate", "bias", "sd",
                   "coverage"]].round(3)

# %% [markdown]
# The bias is about -1.5, the whole spillover, and the 95% intervals never cover the global effect.
# No sample size fixes this. It needs another design (cluster randomization on the graph) and
# another estimand-aware analysis: notebook 03.

# %% [markdown]
# ## 13. The experiment design card
#
# Write the design down before any outcome is seen. `ne.DesignCard.from_objects` fills what the
# objects know (design, unit of randomization, assignment probability) and takes the decisions as
# text. It renders as Markdown and writes Markdown + JSON. The minimum detectable effect comes from
# `ne.mde_individual`, with the outcome SD from pre-period data (here the simulation's $Y(0)$).
#
# **Seed notebook.** Its card declares assignment "blocked by segment and platform" but plans a
# plain difference-in-means analysis. A blocked design should be analysed with the blocked estimator
# (§11), and "platform" is not in the data. The card below is consistent: stratified by segment,
# analysed by Lin's estimator with the strata among the covariates. Its network fields (graph,
# clustering) stay open because this experiment declares no network; notebook 03 fills them.

# %%
mde = ne.mde_individual(n=len(X), sd=float(po.y0.std(ddof=1)), p=0.5, alpha=0.05, power=0.8)
card = ne.DesignCard.from_objects(
    design=plan,
    estimators=["lin_estimator (segment dummies + log prior usage, account age, team; HC2)",
                "difference_in_means by segment, Holm-adjusted (secondary)"],
    title="Onboarding checklist: design card",
    business_decision="Launch the onboarding checklist to all eligible new accounts?",
    treatment="New onboarding checklist shown after signup",
    control="Current onboarding experience",
    eligibility="Accounts created during the experiment window",
    primary_outcome="30-day retained value per account",
    guardrails=("support tickets", "refund rate", "page latency"),
    duration=f"Fixed horizon: 20,000 accounts, then 30 days of follow-up (MDE {mde:.2f} at 80% power, 5% level)",
    estimand="Finite-population ATE of assignment to the checklist (intent-to-treat)",
    analysis_plan="Blocked (Lin) estimate with HC2 SE and t interval; randomization test with the Stratified "
                  "design; SRM check on analyzed accounts first",
    known_threats=("logging loss of the 30-day outcome (SRM)", "spillovers within team accounts",
                   "novelty effect in the first week"),
    exposure_mapping="None: no interference between accounts assumed (SUTVA); see known threats",
    threats_to_validity=("members of a team account may see each other's checklist: if that matters, randomize "
                         "team accounts as clusters (notebook 03)",),
)
card

# %%
with tempfile.TemporaryDirectory() as tmp:
    md_path, json_path = card.write(Path(tmp) / "onboarding_checklist")
    assert ne.DesignCard.read(json_path) == card
    print(f"wrote {md_path.name} and {json_path.name}; read back identical")

# %% [markdown]
# ## 14. More than two arms
#
# A second variant (checklist plus a welcome e-mail, with 1.5 times the checklist's effect here)
# makes three arms. `ne.MultiArmComplete` fixes the arm sizes (half control, a quarter each
# variant); every estimator and test is per pair of arms with the two-arm result types, and the
# randomization test draws its null assignments from the same three-arm design. Check SRM across
# all arms first.

# %%
arms = ("control", "checklist", "checklist+email")
design3 = ne.MultiArmComplete(len(X), prob_each=(0.5, 0.25, 0.25), arms=arms)
z3 = design3.sample(rng=7)                                             # arm codes 0, 1, 2
Y_arms = np.column_stack([po.y0, po.y0 + po.tau, po.y0 + 1.5 * po.tau])  # potential outcome under each arm
y3 = Y_arms[np.arange(len(X)), z3]
print(ne.multiarm_srm_test(z3, design=design3).message)
tab3 = ne.multiarm_difference_in_means(y3, z3, arms=arms, comparisons="all")
print(tab3.to_frame()[["estimand", "estimate", "std_error", "ci_low", "ci_high"]].round(3).to_string(index=False))
print(f"truth: {true_ate:.3f}, {1.5 * true_ate:.3f}, {0.5 * true_ate:.3f}")

# %%
F = ne.multiarm_randomization_test(y3, z3, design3, n_draws=200, rng=0)
pair = ne.multiarm_randomization_test(y3, z3, design3, statistic=("checklist", "checklist+email"), n_draws=200,
                                      rng=0)
print(f"{F.statistic}: p = {F.p_value:.4f}\n{pair.statistic}: p = {pair.p_value:.4f}")

# %% [markdown]
# The three comparisons share arms, so their estimates are correlated; when several are read,
# adjust their p-values (`ne.adjust_pvalues`, §10). `netexp assign --arms control,a,b
# --probabilities 0.5,0.25,0.25` draws the same kind of design from the command line, and
# `netexp analyze` / `test` / `srm` read its `arm` column back.
#
# ## 15. Writing the assignment file from Python
#
# `ne.write_assignment` writes the assignment CSV and its `.design.json` sidecar exactly as
# `netexp assign` does (same declaration, same draw for the same seed, same writer), so the command
# line can analyse, test and verify it later. It refuses to overwrite a file unless
# `overwrite=True`, and writes atomically.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "assignment.csv"
    written = ne.write_assignment(path, X.index, design3, seed=7)       # ids: here the accounts' row labels
    sidecar = json.loads(Path(str(path) + ".design.json").read_text())
    print(written.head(3).to_string(index=False))
    print({k: sidecar[k] for k in ("arms", "probabilities", "arm_counts")})
    print("same draw as design3.sample(rng=7):", bool((written["arm"].to_numpy() == design3.labels(z3)).all()))
    try:
        ne.write_assignment(path, X.index, design3, seed=8)
    except ne.OutputExistsError as exc:
        print("second write refused:", type(exc).__name__, "(overwrite=True replaces it)")

# %% [markdown]
# ## 16. Takeaways
#
# - Randomization makes the assignment independent of the potential outcomes **by design**. The
#   difference in means is then unbiased for the finite-population ATE, with no outcome model.
# - Balance is expected over randomizations, not guaranteed in one. Judge imbalance against the
#   design's own chance imbalance (`balance_table(design=...)`) and treat it as an implementation
#   check.
# - Neyman's SE is conservative by $S_\tau^2/N$ (exact under constant effects). Standard errors
#   measure noise, not bias: a targeted comparison has a tight interval in the wrong place.
# - Randomization tests use the design itself. The sharp null is not the weak null, and Monte
#   Carlo p-values are never 0.
# - Regression adjustment (Lin: centred, interacted, HC2) and blocking buy precision. Identification
#   still comes from the design, and the analysis must match it (blocked design → blocked variance).
# - Segment readouts need pre-specification and multiple-testing control.
# - Check SRM before reading estimates. With interference, the difference in means answers a
#   different question (notebook 03).
#
# Where this notebook departs from the seed notebook:
#
# | § | seed notebook | here |
# |---|---|---|
# | 2 | `true_att_if_all_new` | a segment CATE, not an ATT |
# | 3, 6 | `ax.legend(labels=[...])` over seaborn hue plots | labels attached to the plotted arms |
# | 4 | bias without Monte Carlo error | bias with its Monte Carlo SE |
# | 5 | segment left out of the balance table | all covariates, judged against the design's draws |
# | 7 | SE called "large-sample", not conservative | Neyman SE conservative by $S_\tau^2/N$; t interval |
# | 8 | randomization p-value 0.0000 | $(1 + \#)/(1 + R) \ge 1/(R + 1)$; sharp vs weak null |
# | 9 | uncentred `Z * C(segment)` coefficient read as the ATE | Lin's centred interactions |
# | 10 | no multiple-testing adjustment, 1.96 everywhere | Holm-adjusted p-values, Welch t |
# | 11 | blocked design read with the unblocked SE | blocked variance estimator |
# | 13 | blocked design card, unblocked analysis plan | analysis matches the design |
#
# **References.** Athey & Imbens (2017), The econometrics of randomized experiments, *Handbook of
# Economic Field Experiments* 1. Imbens & Rubin (2015), *Causal Inference for Statistics, Social,
# and Biomedical Sciences*, ch. 5-9. Lin (2013), *Annals of Applied Statistics* 7(1). Morgan & Rubin
# (2012), *Annals of Statistics* 40(2). Wu & Ding (2021), Randomization tests for weak null
# hypotheses, *JASA* 116(536). Fabijan et al. (2019), Diagnosing sample ratio mismatch, *KDD*.
# Kohavi, Longbotham, Sommerfield & Henne (2009), *Data Mining and Knowledge Discovery* 18(1).
