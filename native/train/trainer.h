// Training a loaded model in place: the policy is the very Transformer that generation uses, so the
// next rollout samples from the new weights. A model with a LoRA adapter trains the adapter alone, its base
// weights frozen. One Step is one optimizer update over a whole batch
// (gradient accumulation over micro-batches inside), with AdamW, clipping by global norm, and mixed
// precision; the learning-rate schedule lives with the caller, who passes each step's rate.
//
// Mixed precision: the optimizer always updates float32 master weights. A float32 (or float64) model's
// weights are their own masters; a bfloat16 / float16 model gets float32 copies, and its weights are
// refreshed from them after each update, so that updates far below the low-precision resolution
// (lr 5e-7) are not lost. On CUDA, `autocastBf16` runs a float32 model's forward and backward under
// bfloat16 autocast, as the reference trains (accelerate --mixed_precision bf16).
//
// Data parallelism: with a process group, every rank holds the whole model and optimizer and steps on its share of
// each batch (possibly none). Counts and metrics are summed over the ranks first, so that every rank scales its
// gradients by the whole batch; after backward the gradients are summed over the ranks in buckets of about
// kGradientBucketBytes (one all-reduce each, after the whole backward: no overlap with it), so every rank applies the
// same update and the weights stay equal. The ranks start from rank 0's weights.
//
// With shardOptimizer (ZeRO-1) the parameters are shared out between the ranks, whole tensors balanced by size: a rank
// keeps AdamW's moments of its own parameters only (a 1/ranks share of the optimizer's memory; the float32 masters
// stay whole), updates them, then every rank broadcasts its parameters to the others. The update is the same, so the
// weights are those of an unsharded run. SaveState gathers the moments to rank 0, which writes them: every rank
// calls it at the same step; LoadState reads a whole state file on every rank, so a run resumes on any number of
// ranks, sharded or not.
//
// Not thread-safe: the caller serialises Step, Score, SaveState and LoadState with everything else
// that reads the model's weights (the JS handle does, with the model's weights lock).
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dist/process_group.h"
#include "model/transformer.h"
#include "train/logprobs.h"
#include "train/preference_loss.h"
#include "train/response_logprobs.h"

namespace genius::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Decoupled weight decay (AdamW); not applied to biases and RMSNorm weights.
  double weightDecay = 0.0;
};

struct TrainerOptions {
  AdamWOptions adamw;
  double maxGradNorm = 0.0;       // clip the global gradient norm to this; 0: no clipping
  int64_t microBatch = 1;         // pairs (preference) or sequences (SFT) per forward
  bool autocastBf16 = false;      // CUDA only
  bool checkpointLayers = false;  // activation checkpointing of every decoder layer
  PreferenceLossOptions loss;     // preference steps
  LogprobChunks chunks;
  std::shared_ptr<dist::ProcessGroup> group;  // data parallelism over its ranks; null: this process alone
  // ZeRO stage 1, with a group: each rank keeps AdamW's moments of its share of the parameters only, updates
  // those, and sends them to the others (see Trainer).
  bool shardOptimizer = false;
};

// Many sequences in one flat buffer, as they cross from JS.
struct SequenceSet {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets;  // size() + 1 entries
  std::vector<int64_t> promptLengths;
  int64_t size() const { return static_cast<int64_t>(promptLengths.size()); }
  SequenceView View(int64_t i) const {
    return {tokens.data() + offsets[i], offsets[i + 1] - offsets[i], promptLengths[i]};
  }
};

// Pair i is chosen.View(i) over rejected.View(i). Per-pair values are empty when not used: the
// reference sums under options.loss.referenceFree, the advantages for every loss but ACO.
struct PreferenceBatch {
  SequenceSet chosen;
  SequenceSet rejected;
  std::vector<double> referenceChosen;
  std::vector<double> referenceRejected;
  std::vector<double> chosenAdvantage;
  std::vector<double> rejectedAdvantage;
};

// What one optimizer step did. Rewards and accuracy are those of preference steps (0 for SFT).
struct StepMetrics {
  double loss = 0;            // mean over the step's pairs; SFT: mean NLL over its response tokens
  double chosenReward = 0;    // mean β·(log πθ − log πref) of the chosen responses
  double rejectedReward = 0;  // same, rejected
  double accuracy = 0;        // share of pairs with chosen reward > rejected reward
  double margin = 0;          // mean chosen − rejected reward
  double gradNorm = 0;        // global norm before clipping
  int64_t examples = 0;       // pairs or sequences
  int64_t tokens = 0;         // tokens through the model's forward, prompts included
};

// Σ of response-token log-probs of each pair's sides.
struct PairScores {
  std::vector<double> chosen;
  std::vector<double> rejected;
};

// Called between micro-batches; may throw (cancellation).
using Checkpoint = std::function<void()>;

class Trainer {
 public:
  Trainer(std::shared_ptr<const model::Transformer> model, TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One update of the preference loss (options.loss) averaged over the batch's pairs, at learning
  // rate `lr`. A non-finite loss or gradient throws ERR_GENIUS_NON_FINITE before anything is
  // updated, as does any other failure: a step changes the weights completely or not at all.
  StepMetrics PreferenceStep(const PreferenceBatch& batch, double lr, const Checkpoint& checkpoint);
  // One update of next-token cross-entropy on the sequences' response tokens, averaged over all of
  // them (transformers' causal-LM loss over the whole batch, whatever the micro-batching).
  StepMetrics SftStep(const SequenceSet& sequences, double lr, const Checkpoint& checkpoint);

  // Whether steps are data-parallel over a process group's ranks.
  bool distributed() const { return options_.group != nullptr; }

  // Σ of the response log-probs of each pair's sides under the current weights, without grad, run as a preference
  // step runs them (micro-batches, a shared prompt once): the reference log-probs of a frozen copy of the policy,
  // taken before the first step (equal to the policy's at that step to the last bit), or with `adapterUse` off, of
  // a LoRA model's base.
  PairScores Score(const SequenceSet& chosen, const SequenceSet& rejected, const Checkpoint& checkpoint,
                   model::AdapterUse adapterUse = model::AdapterUse::kOn) const;

  // The optimizer's state (and the float32 masters of a low-precision model) as `path`, a
  // safetensors file; LoadState restores it exactly (ERR_GENIUS_BAD_FILE when it does not fit). A data-parallel
  // trainer writes on rank 0 only.
  void SaveState(const std::string& path) const;
  void LoadState(const std::string& path);
  // What is trained, in `dtype`, written from the float32 masters (a model that computes in a lower precision
  // than it is saved in loses no update below that precision's resolution): the model as a Hugging Face
  // checkpoint (model/weights.h's SaveWeights), or a LoRA model's adapter in PEFT's format (model/lora.h).
  void SaveModel(const std::string& dir, at::ScalarType dtype, uint64_t shardBytes,
                 const model::TensorProgress& progress) const;

 private:
  struct Parameter {
    std::string name;
    at::Tensor weight;  // the model's tensor
    at::Tensor master;  // float32: the same tensor, or a copy of it
    bool decays = true;
    // AdamW's state, like the master's; undefined until the parameter's first update. step is a float32
    // scalar on the device, as the fused kernel takes it.
    at::Tensor expAvg, expAvgSq, step;
    int64_t owner = 0;     // the rank that keeps its AdamW state (every rank when not sharded)
    bool updated = false;  // whether it has had an update: its state exists, on its owner
  };
  // Runs `accumulate` (forward and backward over the micro-batches), then clips and updates.
  StepMetrics Update(double lr, const std::function<StepMetrics()>& accumulate);
  // `values` summed over the ranks (unchanged without a group).
  std::vector<double> SumOverRanks(std::vector<double> values) const;
  // The float32 gradients summed over the ranks; a parameter that has a gradient on any rank gets one on all.
  void SumGradientsOverRanks();
  bool Sharded() const { return options_.group && options_.shardOptimizer; }
  bool Owns(const Parameter& parameter) const { return !Sharded() || parameter.owner == options_.group->rank(); }
  // For each rank in turn, the tensors `of` gives of the parameters that rank owns go from it to every rank, in one
  // flat buffer: the owner sends them, and every other rank receives them into what `of` gives it.
  void BroadcastFromOwners(const std::function<std::vector<at::Tensor>(const Parameter&)>& of) const;
  model::Transformer::LayerRunner LayerRunner() const;
  bool Autocast() const;

  std::shared_ptr<const model::Transformer> model_;
  TrainerOptions options_;
  // torch.optim.AdamW's update (as fused=True computes it) of the parameters with a gradient.
  void AdamWStep(double lr);

  std::vector<Parameter> parameters_;
};

}  // namespace genius::train
