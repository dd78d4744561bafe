#!/usr/bin/env bash
# Makes the embedded default model (models/default/) and its data (data/changes/) from nothing:
#   1. data        data/changes/{sft,queries,validation,test}.jsonl (disjoint, seeded) scripts/default-model/make_data.py
#   2. tokenizer   byte-level BPE + ChatML template, trained on the SFT corpus  scripts/default-model/make_tokenizer.py
#   3. config      a ~3M-parameter Llama for that tokenizer                     scripts/default-model/write_config.py
#   4. SFT         our own trainer: genius-native sft (AdamW, linear warm-up, response-only cross-entropy),
#                  for 6000 steps (about 15 minutes here)
#   5. evaluate    greedy accuracy on data/changes/validation.jsonl, written into models/default/README.md
#
# Usage: scripts/make-default-model.sh            (from the repository root; deterministic)
# Needs the built package (`npm install`). Environment:
#   PYTHON   the Python with torch/transformers/tokenizers (default: .venv/bin/python)
#   OUT      model directory to write (default models/default)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="${OUT:-models/default}"
DATA=data/changes
WORK="$(mktemp -d "${TMPDIR:-/tmp}/genius-default-model.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The recipe (see models/default/README.md for why these values).
SEED=0
DATA_SEED=20261203
VOCAB=1024           # BPE vocabulary bound, the three special tokens included (this corpus runs out of merges first)
HIDDEN=256 LAYERS=4 HEADS=4 KV_HEADS=2 INTERMEDIATE=688 MAX_POSITIONS=256
LR=2e-3
BATCH=8
STEPS=2000
WARMUP_RATIO=0.1
WEIGHT_DECAY=0
CLIP=1.0

echo "[1/5] data -> $DATA"
"$PYTHON" scripts/default-model/make_data.py --out "$DATA" --seed "$DATA_SEED" --sft 12000 --queries 512 \
  --validation 300 --test 500

echo "[2/5] tokenizer"
"$PYTHON" scripts/default-model/make_tokenizer.py --data "$DATA/sft.jsonl" --out "$WORK/tokenizer" --vocab "$VOCAB"

echo "[3/5] config, and the SFT lines as the trainer reads them ({prompt, response})"
"$PYTHON" scripts/default-model/write_config.py --tokenizer "$WORK/tokenizer" --out "$WORK/init" \
  --hidden "$HIDDEN" --layers "$LAYERS" --heads "$HEADS" --kv-heads "$KV_HEADS" \
  --intermediate "$INTERMEDIATE" --max-positions "$MAX_POSITIONS"
"$PYTHON" scripts/default-model/render_sft.py --tokenizer "$WORK/tokenizer" --data "$DATA/sft.jsonl" \
  --out "$WORK/sft-prompts.jsonl"

echo "[4/5] SFT: lr $LR, batch $BATCH, $STEPS steps, warm-up ratio $WARMUP_RATIO, seed $SEED"
rm -rf "$OUT"
mkdir -p "$OUT"
START=$(date +%s)
node bin/genius-native.js sft --init "$WORK/init/config.json" --init-seed "$SEED" --tokenizer "$WORK/tokenizer" \
  --data "$WORK/sft-prompts.jsonl" --out "$OUT" --max-length "$MAX_POSITIONS" \
  --lr "$LR" --batch-size "$BATCH" --grad-accum 1 --steps "$STEPS" --warmup-ratio "$WARMUP_RATIO" \
  --weight-decay "$WEIGHT_DECAY" --max-grad-norm "$CLIP" --seed "$SEED" \
  2>&1 | tee "$WORK/sft.log"
rm -rf "$OUT/training_state"
SFT_SECONDS=$(($(date +%s) - START))
# Whatever the trainer wrote, the directory gets our tokenizer files and generation config.
for file in tokenizer.json tokenizer_config.json chat_template.jinja; do cp "$WORK/tokenizer/$file" "$OUT/"; done
cp "$WORK/init/generation_config.json" "$OUT/generation_config.json"

echo "[5/5] evaluate and document"
"$PYTHON" scripts/default-model/eval_greedy.py --model "$OUT" --eval "$DATA/validation.jsonl" | tee "$WORK/eval.json"
"$PYTHON" scripts/default-model/write_readme.py --model "$OUT" --data "$DATA" --eval-result "$WORK/eval.json" \
  --sft-seconds "$SFT_SECONDS" \
  --recipe "seed=$SEED data_seed=$DATA_SEED lr=$LR batch=$BATCH steps=$STEPS warmup_ratio=$WARMUP_RATIO weight_decay=$WEIGHT_DECAY clip=$CLIP"
echo "wrote $OUT"
