#!/usr/bin/env bash
# Runs inside the training image (the Dockerfile's `test` stage): `train` as
# SageMaker runs a bring-your-own container, under a fresh /opt/ml.
#   https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
#   https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html
# - input/config/hyperparameters.json with every value a string (the
#   generic Estimator's str(value), a framework estimator's JSON-quoted
#   text), resourceconfig.json, inputdataconfig.json, and the `training`
#   channel in /opt/ml/input/data/training (the image's own copy of the
#   dataset is moved away, so only the channel can be read);
# - stdout: valid EMF only (`fitwatch validate`), one line per epoch, with
#   the job's name and the host of resourceconfig.json;
# - /opt/ml/model/model.pt (a libtorch archive: a zip file) and curves.csv;
# - a bad hyperparameter: exit code 2, the reason in /opt/ml/output/failure,
#   no training (no model).
set -euo pipefail
say() { printf 'contract: %s\n' "$*"; }
die() { printf 'contract: FAILED: %s\n' "$*" >&2; exit 1; }
ml=/opt/ml
data=/usr/share/datasets/fashion-mnist

fresh_ml() {
  rm -rf "$ml"
  mkdir -p "$ml/input/config" "$ml/input/data/training" "$ml/model" "$ml/output"
  cp "$away"/*.gz "$ml/input/data/training/"
  cat > "$ml/input/config/resourceconfig.json" <<'JSON'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
JSON
  cat > "$ml/input/config/inputdataconfig.json" <<'JSON'
{"training": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
JSON
  printf '%s\n' "$1" > "$ml/input/config/hyperparameters.json"
}

# SageMaker starts the container with `train` as its argument, in WORKDIR.
run_train() {
  (cd "$ml" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
     HOME=/root TRAINING_JOB_NAME=fitwatch-image-test train > /tmp/out.log 2> /tmp/err.log)
}

away=/tmp/fashion-mnist-not-here
[ -e "$data/train-images-idx3-ubyte.gz" ] || die "the image has no $data"
mv "$data" "$away"
trap 'mv "$away" "$data"' EXIT

# ---- a good job: small (3 epochs on 300 examples), so it takes seconds ----
fresh_ml '{"preset": "\"overfit\"", "epochs": "3", "train_size": "300", "val_size": "300",
 "test_size": "300", "no_stop": "True", "fitwatch_rise_patience": "\"3\"",
 "fitwatch_patience": "5", "sagemaker_program": "\"train\"", "sagemaker_region": "\"us-east-1\""}'
started=$(date +%s)
run_train || { cat /tmp/err.log >&2; die "train exited with $?"; }
say "train: $(( $(date +%s) - started )) s"
summary=$(fitwatch validate /tmp/out.log) || die "fitwatch validate: $summary"
say "stdout: $summary"
[ "$summary" = "3 lines, 3 EMF events, 36 metrics (36 datapoints) extracted, 0 invalid" ] \
  || die "unexpected validate summary: $summary"
[ "$(jq -c '.Epoch' /tmp/out.log | tr '\n' ' ')" = "1 2 3 " ] || die "epochs"
[ "$(jq -r '.TrainingJobName' /tmp/out.log | sort -u)" = fitwatch-image-test ] || die "job name"
[ "$(jq -r '.Host' /tmp/out.log | sort -u)" = algo-1 ] || die "host from resourceconfig.json"
[ "$(jq -c '._aws.CloudWatchMetrics[0].Dimensions' /tmp/out.log | sort -u)" = '[["TrainingJobName"]]' ] \
  || die "dimensions"
[ -s "$ml/model/model.pt" ] || die "no $ml/model/model.pt"
[ "$(head -c 2 "$ml/model/model.pt")" = PK ] || die "model.pt is not a libtorch (zip) archive"
[ "$(wc -l < "$ml/model/curves.csv")" = 4 ] || die "curves.csv has not 3 epochs"
[ ! -e "$ml/output/failure" ] || die "a failure file after a good job: $(cat "$ml/output/failure")"
say "model: $(stat -c %s "$ml/model/model.pt") bytes model.pt, curves.csv; no failure file"

# ---- bad hyperparameters: the job fails at once, with a reason -------------
check_failure() {  # hyperparameters, what the failure file must start with
  fresh_ml "$1"
  set +e; run_train; rc=$?; set -e
  [ "$rc" = 2 ] || { cat /tmp/err.log >&2; die "exit code $rc for $1 (2 expected)"; }
  [ -s "$ml/output/failure" ] || die "no failure file for $1"
  reason=$(cat "$ml/output/failure")
  case "$reason" in "$2"*) ;; *) die "failure file: '$reason' (expected '$2...')" ;; esac
  [ ! -s /tmp/out.log ] || die "EMF lines written before the check of $1"
  [ ! -e "$ml/model/model.pt" ] || die "a model for $1"
  say "failure file: $reason"
}
check_failure '{"epochs": "3", "fitwatch_smoothing": "1.5"}' \
  'hyperparameters: setting fitwatch_smoothing="1.5"'
check_failure '{"epochs": "3", "fitwatch_patiense": "5"}' \
  'hyperparameters: unknown setting fitwatch_patiense'
check_failure '{"epochs": "three"}' 'hyperparameters: '
say "passed"
