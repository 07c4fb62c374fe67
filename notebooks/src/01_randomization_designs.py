# %% [markdown]
# # Randomization designs, done properly
#
# The first part of the seed notebook `000_...` walks through the classic designs: coin flips, fixed splits,
# blocks, strata, re-randomization, clusters and matched pairs. Here each one is a netexp `Design`: a declared
# distribution over assignments with **exact treatment probabilities**, seeded draws (same seed, same
# assignment, bit for bit), and the same interface whether it randomizes people or whole clusters of a social
# network. Balance tables and sample-ratio-mismatch checks (from `001_...`) close the notebook.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import netexp as ne

plt.rcParams.update({"figure.dpi": 110, "font.size": 10, "axes.titlesize": 10})

rng = np.random.default_rng(42)
users = pd.DataFrame({
    "age": rng.integers(18, 70, 500),
    "region": rng.choice(["NA", "EU", "APAC"], 500),
    "baseline_rate": rng.uniform(0.05, 0.15, 500),
})
users.head()

# %% [markdown]
# ## 1. Simple randomization (coin flip) and 2. complete randomization (fixed split)
#
# `Bernoulli` flips an independent coin per unit: arm sizes vary. `Complete` fixes the number treated. With an
# odd number of units, the seed notebook "randomly decides which label gets the extra unit"; netexp does the
# same (`extra="random"`) and states the consequence: every unit's probability is exactly `p`.

# %%
coin = ne.Bernoulli(10, p=0.5)
fixed = ne.Complete(5)                     # 2 or 3 treated, each with probability 1/2
print(coin.sample(rng=1).astype(int), fixed.sample(rng=1).astype(int))
print(fixed, fixed.probabilities)
print(ne.Complete(5, extra="treatment").sample(rng=1).astype(int))   # the odd unit always treated

# %% [markdown]
# ## 3. Blocked randomization
#
# Balanced blocks of consecutive units in arrival order, so the arms stay balanced if the experiment stops
# early. A ragged last block is handled (the seed's `n_clusters // block_size` silently dropped it).

# %%
z = ne.Blocked(14, block_size=4).sample(rng=2)
[z[i:i + 4].astype(int).tolist() for i in range(0, 14, 4)]

# %% [markdown]
# ## 4. Stratified randomization
#
# Strata from a categorical column, or from binning a numeric one (quantiles or cut points). The seed notebook
# generated assignments in `groupby` order and pasted them onto rows in the original order, so units received
# another stratum's draw; netexp returns every unit's assignment in the unit's own position.

# %%
strat = ne.Stratified.from_covariate(users, "age", bins=4)           # age quartiles
z = strat.sample(rng=3)
pd.crosstab(pd.qcut(users["age"], 4), pd.Series(z, name="treated"), margins=True)

# %%
# different probabilities per stratum are allowed, and exposed for weighting the analysis
by_region = ne.Stratified(users["region"], p={"NA": 0.5, "EU": 0.3, "APAC": 0.2})
pd.Series(by_region.probabilities).groupby(users["region"].to_numpy()).first()

# %% [markdown]
# ## Stratified block randomization

# %%
sb = ne.StratifiedBlocked(users["region"], block_size=4)
z = sb.sample(rng=4)
pd.crosstab(users["region"], pd.Series(z, name="treated"))

# %% [markdown]
# ## 5. Re-randomization
#
# Draw, check balance, draw again if unbalanced. The seed's `while True` loop can run forever and its
# acceptance rate is unknown; `Rerandomized` wraps any design, accepts by Morgan & Rubin's Mahalanobis distance
# (with a threshold, or an acceptance probability whose threshold is the chi-square quantile) or by a mean
# difference, stops with a clear error after `max_tries`, and reports the acceptance rate.

# %%
rr = ne.Rerandomized(ne.Complete(len(users)), users, ["age", "region", "baseline_rate"], acceptance=0.05)
draws = rr.sample_with_diagnostics(20, rng=5)
draws

# %%
# the seed's single-covariate rule: |mean size difference| <= 3
clusters = pd.DataFrame({"size": np.random.default_rng(42).integers(50, 100, 10)})
one = ne.Rerandomized(ne.Complete(10), clusters, criterion="mean_difference", threshold=3)
z = one.sample(rng=6)
clusters["size"][z].mean() - clusters["size"][~z].mean()

# %% [markdown]
# ## 6. Cluster randomization on a real network, with cluster-level covariates
#
# The seed randomized made-up "schools". Here the clusters are Leiden communities of the bundled social
# network; any design above can randomize them, with cluster covariates (size, mean of unit covariates).

# %%
g = ne.load_graph("social")
communities = ne.leiden(g, rng=0)
ccov = ne.cluster_covariates(communities)
design = ne.ClusterRandomized(communities, ne.Stratified.from_covariate(ccov, "size", bins=2))
z = design.sample(rng=7)
print(design)
print("treated clusters:", int(design.sample_clusters(rng=7).sum()), "of", communities.n_clusters)

# %% [markdown]
# ## 7. Matched pairs
#
# Pair similar units, treat one of each pair. The seed's loop pairs each unit with its nearest neighbour only
# when the choice is mutual, so units are left unpaired; netexp finds the pairing with the **minimum total
# distance** (optimal non-bipartite matching), leaves out one unit only when the count is odd, and says which.

# %%
cl = pd.DataFrame({
    "size": np.random.default_rng(42).integers(50, 200, 20),
    "baseline_engagement": np.random.default_rng(43).uniform(0.1, 0.5, 20),
    "region": np.random.default_rng(44).choice(["NA", "EU", "APAC"], 20),
})
mp = ne.MatchedPairs(cl, ["size", "baseline_engagement"], distance="mahalanobis")
print(mp.pairs.tolist())
z = mp.sample(rng=8)
ne.balance_table(cl, z, ["size", "baseline_engagement"], design=mp, rng=9).to_frame()

# %% [markdown]
# ## Balance: expected, not guaranteed
#
# `balance_table` reports standardized differences (pooled SD) and variance ratios, and compares each with its
# **randomization distribution under the design actually used**: a difference of 0.15 can be perfectly ordinary
# for a small design and alarming for a large one, which the fixed 0.1 rule of thumb cannot tell.

# %%
design = ne.Complete(len(users))
z = design.sample(rng=10)
bt = ne.balance_table(users, z, design=design, rng=11)
print(bt.summary())

# %% [markdown]
# ## Sample ratio mismatch
#
# Compare the units that reach the analysis with the plan. Here 6% of treated users are lost (say, a logging bug
# in the new feature, 15 treated users never logged): the counts look close to 50/50, but the test on
# lost units flags it.

# %%
analyzed = np.ones(len(users), bool)
treated_idx = np.flatnonzero(z)
analyzed[treated_idx[:15]] = False                     # 15 treated users never logged
print(ne.srm_test(z[analyzed], design=design).message)

# %% [markdown]
# ## Every design at a glance
#
# One draw of each unit-level design on the 500 users (treated in orange), shown by arrival order
# (x) and age (y): Bernoulli leaves the arm sizes to chance, Complete fixes them, Blocked balances
# every run of 4 consecutive arrivals, Stratified balances each age quartile, Stratified-blocked
# balances arrivals within each region, and Rerandomized keeps only draws whose covariates are close
# to balanced. Then the two designs over groups: optimal matched pairs of the 20 clusters (one of
# each pair treated; lines join the pairs) and cluster randomization on the social network (whole
# communities treated, edges inside communities light, between them dark).

# %%
from netexp import plots

unit_designs = {
    "Bernoulli(p=0.5)": ne.Bernoulli(len(users), p=0.5),
    "Complete(half)": ne.Complete(len(users)),
    "Blocked(4)": ne.Blocked(len(users), block_size=4),
    "Stratified(age quartile)": ne.Stratified.from_covariate(users, "age", bins=4),
    "StratifiedBlocked(region, 4)": ne.StratifiedBlocked(users["region"], block_size=4),
    "Rerandomized(5% accepted)": rr,
}
colours = np.array(["#0072B2", "#E69F00"])
fig, axes = plt.subplots(2, 4, figsize=(13, 6.2), layout="constrained")
for ax, (name, d) in zip(axes.flat, unit_designs.items()):
    zd = d.sample(rng=21)
    ax.scatter(np.arange(len(users)), users["age"], c=colours[zd.astype(int)], s=9, linewidths=0)
    ax.set_title(f"{name}\n{int(zd.sum())} treated of {len(users)}")
    ax.set_xlabel("arrival order")
    ax.set_ylabel("age")
ax = axes.flat[6]
zp = mp.sample(rng=8)
for a, b in mp.pairs:
    ax.plot(cl["size"].iloc[[a, b]], cl["baseline_engagement"].iloc[[a, b]], color="0.7", lw=1, zorder=0)
ax.scatter(cl["size"], cl["baseline_engagement"], c=colours[zp.astype(int)], s=40)
ax.set_title("MatchedPairs (20 clusters)\n10 pairs, one of each treated")
ax.set_xlabel("cluster size")
ax.set_ylabel("baseline engagement")
zc = ne.ClusterRandomized(communities).sample(rng=7)
plots.plot_network(g, color_by=zc, clusters=communities.labels, max_nodes=600, rng=0, ax=axes.flat[7])
axes.flat[7].set_title(f"ClusterRandomized ({communities.n_clusters} communities)\non the social network")
fig.legend(handles=[plt.Line2D([], [], marker="o", ls="", color=c, label=l)
                    for c, l in zip(colours, ["control", "treated"])], loc="outside lower center", ncol=2)
plt.show()

# %% [markdown]
# **Balance across designs.** Over 300 draws of each design, the standardized difference in mean age
# between the arms: every design is unbiased (centred on 0), but stratifying on age and
# re-randomizing on the covariates make large imbalances rare; blocking on arrival order does not
# help for age, which is unrelated to arrival.

# %%
def std_diff(Z, x):
    x = np.asarray(x, float)
    zt = Z.astype(float)
    mt = (zt @ x) / zt.sum(1)
    mc = ((1 - zt) @ x) / (1 - zt).sum(1)
    return (mt - mc) / x.std()

diffs = {name: std_diff(d.sample_many(300, rng=22), users["age"]) for name, d in unit_designs.items()}
fig, ax = plt.subplots(figsize=(8, 3.4), layout="constrained")
ax.boxplot(list(diffs.values()), orientation="horizontal", whis=(2.5, 97.5), showfliers=False)
ax.set_yticks(range(1, len(diffs) + 1), list(diffs))
ax.axvline(0, color="0.5", lw=1)
ax.set_xlabel("standardized difference in mean age (treated - control)")
ax.set_title("300 draws of each design; boxes: middle half, whiskers: middle 95%")
plt.show()
pd.Series({k: np.quantile(np.abs(v), 0.95) for k, v in diffs.items()}, name="95th percentile of |std diff|").round(3)

# %% [markdown]
# ## What the seed notebook got wrong
#
# * **Stratified**: assignments built in `groupby` order were pasted onto rows in the original order.
# * **Blocked**: `n_clusters // block_size` blocks silently drop the remainder.
# * **Re-randomization**: `while True` with no bound, acceptance rate unknown, and inference afterwards as if
#   no re-randomization happened (analyse under the accepted-draw distribution instead).
# * **Matched pairs**: non-mutual nearest neighbours left units unpaired, and greedy pairing is not optimal.
# * **Cluster randomization**: `np.random.choice(..., size=n_clusters // 2)` without `replace=False` in the
#   network section can pick the same cluster twice.
# * Everywhere: global `np.random.seed` state, so a draw cannot be reproduced without replaying the whole notebook.
