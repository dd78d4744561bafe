#!/usr/bin/env bash
# Makes the embedded default model (models/default/) and its data (data/changes/) from nothing:
#   1. data        data/changes/{sft,sft-mixed,queries,validation,test}.jsonl (disjoint, seeded)
#                                                                               scripts/default-model/make_data.py
#   2. tokenizer   byte-level BPE + ChatML template, trained on sft.jsonl      scripts/default-model/make_tokenizer.py
#   3. config      a ~3M-parameter Llama for that tokenizer                     scripts/default-model/write_config.py
#   4. SFT         our own trainer: genius-native sft (AdamW, linear warm-up, response-only cross-entropy), in two
#                  stages: 6000 steps on worked solutions, then 1000 on the mixed corpus (about 15 minutes here)
#   5. evaluate    greedy accuracy on data/changes/validation.jsonl, written into models/default/README.md
#
# Usage: scripts/make-default-model.sh            (from the repository root; deterministic)
# Needs the built package (`npm install`). Environment:
#   PYTHON   the Python with torch/transformers/tokenizers (default: .venv/bin/python)
#   OUT      model directory to write (default models/default)
#   WORK     directory for the intermediate files, kept (default: a temporary one, removed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="${OUT:-models/default}"
DATA=data/changes
if [ -z "${WORK:-}" ]; then  # WORK=DIR keeps the intermediate files (tokenizer, stage-1 model, logs) there
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/genius-default-model.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi

# The recipe (see models/default/README.md for why these values).
SEED=0
DATA_SEED=20261203
VOCAB=1024           # BPE vocabulary bound, the three special tokens included (this corpus runs out of merges first)
HIDDEN=256 LAYERS=4 HEADS=4 KV_HEADS=2 INTERMEDIATE=688 MAX_POSITIONS=256
LR=2e-3 STEPS=6000              # stage 1, worked solutions
MIXED_LR=5e-4 MIXED_STEPS=1000  # stage 2, the mixed corpus
BATCH=8
WARMUP_RATIO=0.05
WEIGHT_DECAY=0
CLIP=1.0

echo "[1/5] data -> $DATA"
"$PYTHON" scripts/default-model/make_data.py --out "$DATA" --seed "$DATA_SEED" --sft 12000 --sft-mixed 4000 --queries 512 \
  --validation 300 --test 500

echo "[2/5] tokenizer"
"$PYTHON" scripts/default-model/make_tokenizer.py --data "$DATA/sft.jsonl" --out "$WORK/tokenizer" --vocab "$VOCAB"

echo "[3/5] config, and the SFT lines as the trainer reads them ({prompt, response})"
"$PYTHON" scripts/default-model/write_config.py --tokenizer "$WORK/tokenizer" --out "$WORK/init" \
  --hidden "$HIDDEN" --layers "$LAYERS" --heads "$HEADS" --kv-heads "$KV_HEADS" \
  --intermediate "$INTERMEDIATE" --max-positions "$MAX_POSITIONS"
for corpus in sft sft-mixed; do
  "$PYTHON" scripts/default-model/render_sft.py --tokenizer "$WORK/tokenizer" --data "$DATA/$corpus.jsonl" \
    --out "$WORK/$corpus-prompts.jsonl"
done

echo "[4/5] SFT: stage 1 lr $LR, $STEPS steps; stage 2 lr $MIXED_LR, $MIXED_STEPS steps; batch $BATCH, warm-up ratio $WARMUP_RATIO, seed $SEED"
rm -rf "$OUT"
START=$(date +%s)
common=(--tokenizer "$WORK/tokenizer" --max-length "$MAX_POSITIONS" --batch-size "$BATCH" --grad-accum 1
  --warmup-ratio "$WARMUP_RATIO" --weight-decay "$WEIGHT_DECAY" --max-grad-norm "$CLIP" --seed "$SEED")
node bin/genius-native.js sft --init "$WORK/init/config.json" --init-seed "$SEED" --data "$WORK/sft-prompts.jsonl" \
  --out "$WORK/stage1" --lr "$LR" --steps "$STEPS" "${common[@]}" 2>&1 | tee "$WORK/sft.log"
node bin/genius-native.js sft --model "$WORK/stage1" --data "$WORK/sft-mixed-prompts.jsonl" \
  --out "$OUT" --lr "$MIXED_LR" --steps "$MIXED_STEPS" "${common[@]}" 2>&1 | tee -a "$WORK/sft.log"
rm -rf "$OUT/training_state"
SFT_SECONDS=$(($(date +%s) - START))
# Whatever the trainer wrote, the directory gets our tokenizer files and generation config.
for file in tokenizer.json tokenizer_config.json chat_template.jinja; do cp "$WORK/tokenizer/$file" "$OUT/"; done
cp "$WORK/init/generation_config.json" "$OUT/generation_config.json"

echo "[5/5] evaluate and document"
"$PYTHON" scripts/default-model/eval_greedy.py --model "$OUT" --eval "$DATA/validation.jsonl" | tee "$WORK/eval.json"
for file in tokenizer.json tokenizer_config.json chat_template.jinja; do cp "$WORK/tokenizer/$file" "$WORK/stage1/"; done
"$PYTHON" scripts/default-model/eval_greedy.py --model "$WORK/stage1" --eval "$DATA/validation.jsonl" \
  | tee "$WORK/stage1-eval.json"
"$PYTHON" scripts/default-model/write_readme.py --model "$OUT" --data "$DATA" --eval-result "$WORK/eval.json" \
  --stage1-eval-result "$WORK/stage1-eval.json" \
  --sft-seconds "$SFT_SECONDS" \
  --recipe "seed=$SEED data_seed=$DATA_SEED lr=$LR steps=$STEPS mixed_lr=$MIXED_LR mixed_steps=$MIXED_STEPS batch=$BATCH warmup_ratio=$WARMUP_RATIO weight_decay=$WEIGHT_DECAY clip=$CLIP"
echo "wrote $OUT"
