"""The commented example config written by ``unlearn-audit init`` (the embedded default)."""

STARTER = """\
# unlearn-audit configuration: audit an unlearning method on scikit-learn's digits.
# Validate with `unlearn-audit config validate audit.yaml`; run with `unlearn-audit run audit.yaml`.
# Every key is optional; `unlearn-audit config schema` prints them all. Relative paths are resolved
# against this file's folder.

seed: 0                     # root seed: splits, training, unlearning and attacks all derive from it

data:
  dataset: digits           # digits (ships with scikit-learn) | mnist1d (generated; options under mnist1d:)
                            # | mnist | fashion_mnist | cifar10 | cifar100 | svhn (from root:, never
                            # downloaded) | imagefolder (root:) | npz (path:)
  test_fraction: 0.25       # held-out test data (datasets without an official test split)
  population_fraction: 0.2  # never trained on: non-member data for attacks and third-party data for methods
  train_size: null          # N: train on a seeded, stratified N of the training pool; the rest joins population
  # split: {train: split/train.txt, population: split/population.txt, test: split/test.txt}
  #                         # instead of the three above: the split your own original was trained on
  #                         # (`unlearn-audit split export audit.yaml` writes the split drawn here)

model:
  arch: mlp                 # mlp | small_cnn | resnet18 | package.module:factory
  checkpoint: null          # your trained original (a state_dict); trained with `training` when null

training:                   # the one recipe for the original, the references and every retrain
  epochs: 30
  batch_size: 64
  optimizer: sgd            # sgd | adam | adamw
  lr: 0.05
  momentum: 0.9
  weight_decay: 0.0005
  schedule: cosine          # cosine | constant
  augment: none             # none | hflip | crop_hflip

forget:                     # what must be forgotten
  kind: class               # class (classes:) | random (fraction: or count:) | indices (path: a file of
  classes: [3]              #   dataset indices) | ids (path: record IDs from your loader's `ids`; column: for a CSV)

unlearner:                  # the method under audit; `unlearn-audit list` shows them all
  name: finetune
  params: {epochs: 5, lr: 0.02}
  # checkpoint: unlearned.pt   # instead of name/params: audit a model your own pipeline unlearned

reference:
  seeds: 12                 # retrain N references; their spread (the retrain noise) enters every gate's interval
  # checkpoints: [ref0.pt]  # or supply retrained references

attacks:                    # the default battery; each is judged against the references, two-sided
  - name: accuracy
  - name: threshold         # loss, entropy, modified entropy and confidence thresholds
  - name: lira              # per-example membership inference, calibrated with shadow models
    params: {shadows: 16}   # trained with `training` on random halves of the data; cached
  - name: records           # per-record test: catches records left in training
  - name: probe             # white-box: catches output-layer and head-only fakes

gates:
  alpha: 0.05               # pass: 90 % interval of the gap inside ±tolerance; fail: Bonferroni interval outside
  seed_multiplier: 4.5      # default tolerances: at least 4.5 retrain standard deviations (and each attack's floor)
  # rules:                  # replace the attacks' default gates (tolerances kept as given); an AUC
  #   - {metric: accuracy.forget, tolerance: 0.05}   # tolerance above 0.05 lets models that expose part
  #                                                  # of the forget set pass (docs/statistics.md)

report:
  out: runs/audit           # overridden by --out
  formats: [html, pdf, json]
  title: Machine unlearning audit
  operator: null            # who ran the audit
  organisation: null
  request_id: null          # pseudonymous erasure-request reference (never personal data)

execution:
  device: auto              # auto | cpu | cuda | cuda:N
  cache: true               # reuse trained models across audits (content-addressed)
  executor: local           # local | process: shadow models train in a spawn-based process pool
  workers: null             # process-pool size (default: the CPU count)
"""
