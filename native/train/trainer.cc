#include "train/trainer.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/_fused_adamw.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <utility>

#include "coded_error.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "profile/phase.h"
#include "train/activation_checkpoint.h"
#include "train/autocast_scope.h"

namespace genius::train {

namespace {

// torch.nn.utils.clip_grad_norm_'s guard against dividing by a zero norm.
constexpr double kClipEpsilon = 1e-6;
// Gradient bytes summed over the ranks per all-reduce: PyTorch DDP's default bucket size.
constexpr int64_t kGradientBucketBytes = int64_t{25} << 20;

// The names of optimizer-state tensors in a state file, per parameter.
const std::string kExpAvg = "exp_avg/";
const std::string kExpAvgSq = "exp_avg_sq/";
const std::string kStep = "step/";
const std::string kMaster = "master/";

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// open-instruct exempts biases and layer norms from weight decay (its list reads "layer_norm.weight",
// which no Llama-family name contains; the intent, norms undecayed, is what is done here).
bool Decays(const std::string& name) { return !EndsWith(name, ".bias") && !EndsWith(name, "norm.weight"); }

bool IsFullPrecision(at::ScalarType dtype) { return dtype == at::kFloat || dtype == at::kDouble; }

at::Tensor PerPair(const std::vector<double>& values, int64_t start, int64_t count, const at::Tensor& like) {
  return at::tensor(std::vector<double>(values.begin() + start, values.begin() + start + count), at::kDouble)
      .to(like.device(), like.scalar_type());
}

double Item(const at::Tensor& tensor) { return tensor.item<double>(); }

// A running sum's value; 0 when nothing was added (a rank with no example of the step).
double SumOf(const at::Tensor& total) { return total.defined() ? Item(total) : 0.0; }

// Sequences start … start + count − 1 of a pair side.
std::vector<SequenceView> PairViews(const SequenceSet& side, int64_t start, int64_t count) {
  std::vector<SequenceView> views;
  for (int64_t i = start; i < start + count; ++i) views.push_back(side.View(i));
  return views;
}

// While a step runs the model's weights collect gradients; however it ends (done, non-finite,
// cancelled, failed), they leave it as plain tensors again, and no gradient is kept anywhere.
class GradientScope {
 public:
  GradientScope(std::vector<at::Tensor> weights, std::vector<at::Tensor> masters)
      : weights_(std::move(weights)), masters_(std::move(masters)) {
    for (const at::Tensor& weight : weights_) weight.requires_grad_(true);
  }
  ~GradientScope() {
    for (const at::Tensor& master : masters_) master.mutable_grad().reset();
    for (const at::Tensor& weight : weights_) {
      weight.mutable_grad().reset();
      weight.requires_grad_(false);
    }
  }
  GradientScope(const GradientScope&) = delete;
  GradientScope& operator=(const GradientScope&) = delete;

 private:
  std::vector<at::Tensor> weights_;
  std::vector<at::Tensor> masters_;
};

}  // namespace

Trainer::Trainer(std::shared_ptr<const model::Transformer> model, TrainerOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  const bool ownMasters = !IsFullPrecision(model_->dtype());
  const auto add = [&](const std::string& name, const at::Tensor& weight) {
    at::Tensor master = ownMasters ? weight.detach().to(at::kFloat) : weight;
    Parameter parameter;
    parameter.name = name;
    parameter.weight = weight;
    parameter.master = master;
    parameter.decays = Decays(name);
    parameters_.push_back(std::move(parameter));
  };
  // In layer order, so that everything derived from the parameter list is deterministic.
  if (const model::LoraAdapter* adapter = model_->adapter()) {
    for (int64_t layer = 0; layer < model_->config().numLayers; ++layer) {
      for (const char* module : model::kLoraModules) {
        for (const char which : {'A', 'B'}) {
          const auto found = adapter->weights.find(model::LoraWeightName(layer, module, which));
          if (found != adapter->weights.end()) add(found->first, found->second);
        }
      }
    }
  } else {
    const model::TensorMap weights = model_->Parameters();
    for (const auto& [name, shape] : model::ExpectedWeights(model_->config())) {
      const auto found = weights.find(name);
      if (found != weights.end()) add(name, found->second);
    }
  }
  if (Sharded()) {
    // Whole tensors to the least loaded rank, largest first: shares within one tensor of each other.
    std::vector<size_t> order(parameters_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return parameters_[a].master.numel() > parameters_[b].master.numel(); });
    std::vector<int64_t> load(static_cast<size_t>(options_.group->size()), 0);
    for (const size_t i : order) {
      parameters_[i].owner = std::min_element(load.begin(), load.end()) - load.begin();
      load[parameters_[i].owner] += parameters_[i].master.numel();
    }
  }
  if (options_.group) {
    // Every rank starts from rank 0's weights, as DDP does: files read on different machines could differ.
    at::NoGradGuard noGrad;
    for (Parameter& parameter : parameters_) {
      at::Tensor values = parameter.master.contiguous();
      options_.group->Broadcast(values, 0);
      if (!values.is_same(parameter.master)) parameter.master.copy_(values);
      if (!parameter.master.is_same(parameter.weight)) parameter.weight.copy_(parameter.master);
    }
  }
}

Trainer::~Trainer() = default;

bool Trainer::Autocast() const { return options_.autocastBf16 && model_->device().is_cuda(); }

model::Transformer::LayerRunner Trainer::LayerRunner() const {
  return options_.checkpointLayers ? CheckpointedLayers() : model::Transformer::LayerRunner();
}

StepMetrics Trainer::Update(double lr, const std::function<StepMetrics()>& accumulate) {
  std::vector<at::Tensor> weights, masters;
  for (const Parameter& parameter : parameters_) {
    weights.push_back(parameter.weight);
    masters.push_back(parameter.master);
  }
  const GradientScope scope(std::move(weights), std::move(masters));
  StepMetrics metrics = accumulate();
  GENIUS_PHASE("train.optimizer");

  at::NoGradGuard noGrad;
  for (const Parameter& parameter : parameters_) {
    if (!parameter.weight.grad().defined() || parameter.master.is_same(parameter.weight)) continue;
    parameter.master.mutable_grad() = parameter.weight.grad().to(at::kFloat);
    parameter.weight.mutable_grad().reset();
  }
  SumGradientsOverRanks();
  std::vector<at::Tensor> gradients;
  for (const Parameter& parameter : parameters_) {
    if (parameter.master.grad().defined()) gradients.push_back(parameter.master.grad());
  }
  // As torch.nn.utils.clip_grad_norm_ computes it: the norm of the per-tensor norms.
  std::vector<at::Tensor> norms;
  for (const at::Tensor& gradient : gradients) norms.push_back(at::linalg_vector_norm(gradient, 2));
  const at::Tensor totalNorm = norms.empty() ? at::zeros({}, at::kFloat) : at::linalg_vector_norm(at::stack(norms), 2);
  metrics.gradNorm = Item(totalNorm);
  if (!std::isfinite(metrics.loss) || !std::isfinite(metrics.gradNorm)) {
    Fail(code::kNonFinite, std::string("the ") + (std::isfinite(metrics.loss) ? "gradient norm" : "loss") + " is " +
                               std::to_string(std::isfinite(metrics.loss) ? metrics.gradNorm : metrics.loss) +
                               "; the step was not applied and the weights are unchanged");
  }
  if (options_.maxGradNorm > 0) {
    const at::Tensor coefficient = ((totalNorm + kClipEpsilon).reciprocal() * options_.maxGradNorm).clamp_max(1.0);
    for (const at::Tensor& gradient : gradients) gradient.mul_(coefficient.to(gradient.scalar_type()));
  }
  AdamWStep(lr);
  if (Sharded())
    BroadcastFromOwners([](const Parameter& parameter) { return std::vector<at::Tensor>{parameter.master}; });
  for (const Parameter& parameter : parameters_) {
    if (!parameter.master.is_same(parameter.weight)) parameter.weight.copy_(parameter.master);
  }
  return metrics;
}

std::vector<double> Trainer::SumOverRanks(std::vector<double> values) const {
  if (!options_.group || values.empty()) return values;
  std::vector<at::Tensor> tensors{at::tensor(values, at::kDouble).to(model_->device())};
  options_.group->AllReduce(tensors);
  const at::Tensor summed = tensors[0].to(at::kCPU).contiguous();
  return {summed.data_ptr<double>(), summed.data_ptr<double>() + summed.numel()};
}

void Trainer::SumGradientsOverRanks() {
  if (!options_.group) return;
  GENIUS_PHASE("train.all_reduce");
  // A rank that trained on no example, or whose examples left a parameter unused, has no gradient for it; it sums
  // zeros, unless no rank has one, as a single process would leave that parameter alone.
  std::vector<double> ranksWithGradient;
  for (const Parameter& parameter : parameters_) ranksWithGradient.push_back(parameter.master.grad().defined());
  ranksWithGradient = SumOverRanks(std::move(ranksWithGradient));
  std::vector<at::Tensor> bucket;
  int64_t bucketBytes = 0;
  const auto sum = [&] {
    options_.group->AllReduce(bucket);
    bucket.clear();
    bucketBytes = 0;
  };
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (ranksWithGradient[i] == 0) continue;
    at::Tensor& gradient = parameters_[i].master.mutable_grad();
    gradient = gradient.defined() ? gradient.contiguous() : at::zeros_like(parameters_[i].master);
    bucket.push_back(gradient);
    bucketBytes += static_cast<int64_t>(gradient.nbytes());
    if (bucketBytes >= kGradientBucketBytes) sum();
  }
  if (!bucket.empty()) sum();
}

void Trainer::BroadcastFromOwners(const std::function<std::vector<at::Tensor>(const Parameter&)>& of) const {
  GENIUS_PHASE("train.broadcast_shards");
  for (int64_t owner = 0; owner < options_.group->size(); ++owner) {
    std::vector<at::Tensor> tensors;
    for (const Parameter& parameter : parameters_) {
      if (parameter.owner != owner) continue;
      for (const at::Tensor& tensor : of(parameter)) tensors.push_back(tensor);
    }
    if (tensors.empty()) continue;
    int64_t elements = 0;
    for (const at::Tensor& tensor : tensors) elements += tensor.numel();
    const bool sending = owner == options_.group->rank();
    std::vector<at::Tensor> flat;
    for (const at::Tensor& tensor : tensors) flat.push_back(tensor.reshape({-1}));
    at::Tensor buffer = sending ? at::cat(flat) : at::empty({elements}, tensors[0].options());
    options_.group->Broadcast(buffer, owner);
    if (sending) continue;
    int64_t offset = 0;
    for (const at::Tensor& tensor : tensors) {
      tensor.copy_(buffer.narrow(0, offset, tensor.numel()).view(tensor.sizes()));
      offset += tensor.numel();
    }
  }
}

// One multi-tensor kernel per weight-decay group, where torch::optim::AdamW ran some ten elementwise ops per
// parameter, each a pass over it (an update of Qwen2.5-0.5B's 166M float32 parameters took 1.2 s on 2 CPU
// cores). The fused kernel is torch.optim.AdamW(fused=True)'s: the same update, not bit for bit the same
// rounding as the default for-loop one (a few ulp of each step).
void Trainer::AdamWStep(double lr) {
  for (const bool decayed : {true, false}) {
    std::vector<at::Tensor> masters, gradients, expAvgs, expAvgSqs, steps;
    for (Parameter& parameter : parameters_) {
      if (parameter.decays != decayed || !parameter.master.grad().defined()) continue;
      parameter.updated = true;
      if (!Owns(parameter)) continue;
      if (!parameter.step.defined()) {
        parameter.expAvg = at::zeros_like(parameter.master);
        parameter.expAvgSq = at::zeros_like(parameter.master);
        parameter.step = at::zeros({}, parameter.master.options());
      }
      parameter.step.add_(1);
      masters.push_back(parameter.master);
      gradients.push_back(parameter.master.grad());
      expAvgs.push_back(parameter.expAvg);
      expAvgSqs.push_back(parameter.expAvgSq);
      steps.push_back(parameter.step);
    }
    if (masters.empty()) continue;
    at::_fused_adamw_(masters, gradients, expAvgs, expAvgSqs, /*max_exp_avg_sqs=*/{}, steps, lr, options_.adamw.beta1,
                      options_.adamw.beta2, decayed ? options_.adamw.weightDecay : 0.0, options_.adamw.eps,
                      /*amsgrad=*/false, /*maximize=*/false);
  }
}

StepMetrics Trainer::PreferenceStep(const PreferenceBatch& batch, double lr, const Checkpoint& checkpoint) {
  return Update(lr, [&] {
    const int64_t pairs = batch.chosen.size();
    const double allPairs = SumOverRanks({static_cast<double>(pairs)})[0];
    StepMetrics metrics;
    at::Tensor lossSum, chosenSum, rejectedSum, correct;
    const auto add = [](at::Tensor& total, const at::Tensor& value) {
      total = total.defined() ? total + value : value;
    };
    for (int64_t start = 0; start < pairs; start += options_.microBatch) {
      checkpoint();
      const int64_t count = std::min(options_.microBatch, pairs - start);
      const SequenceBatch packed =
          PackPairs(PairViews(batch.chosen, start, count), PairViews(batch.rejected, start, count), model_->config(),
                    model_->device());
      metrics.tokens += packed.tokenCount;
      SequenceLogprobs policy;
      {
        GENIUS_PHASE("train.forward");
        const AutocastScope autocast(model_->device().type(), Autocast(), at::kBFloat16);
        policy = ResponseLogprobs(*model_, packed, LayerRunner(), options_.chunks);
      }
      PreferencePairLogprobs inputs;
      inputs.policyChosen = policy.sum.narrow(0, 0, count);
      inputs.policyRejected = policy.sum.narrow(0, count, count);
      inputs.policyChosenMean = policy.mean.narrow(0, 0, count);
      inputs.policyRejectedMean = policy.mean.narrow(0, count, count);
      if (!options_.loss.referenceFree) {
        inputs.referenceChosen = PerPair(batch.referenceChosen, start, count, policy.sum);
        inputs.referenceRejected = PerPair(batch.referenceRejected, start, count, policy.sum);
      }
      if (!batch.chosenAdvantage.empty()) {
        inputs.chosenAdvantage = PerPair(batch.chosenAdvantage, start, count, policy.sum);
        inputs.rejectedAdvantage = PerPair(batch.rejectedAdvantage, start, count, policy.sum);
      }
      const PreferenceLoss loss = ComputePreferenceLoss(inputs, options_.loss);
      // Each micro-batch adds its share of the mean over all the step's pairs (on every rank).
      {
        GENIUS_PHASE("train.backward");
        (loss.losses.sum() / allPairs).backward();
      }
      add(lossSum, loss.losses.detach().sum());
      add(chosenSum, loss.chosenRewards.sum());
      add(rejectedSum, loss.rejectedRewards.sum());
      add(correct, loss.chosenRewards.gt(loss.rejectedRewards).sum());
    }
    const std::vector<double> sums = SumOverRanks(
        {SumOf(lossSum), SumOf(chosenSum), SumOf(rejectedSum), SumOf(correct), static_cast<double>(metrics.tokens)});
    metrics.examples = static_cast<int64_t>(allPairs);
    metrics.loss = sums[0] / allPairs;
    metrics.chosenReward = sums[1] / allPairs;
    metrics.rejectedReward = sums[2] / allPairs;
    metrics.accuracy = sums[3] / allPairs;
    metrics.margin = metrics.chosenReward - metrics.rejectedReward;
    metrics.tokens = static_cast<int64_t>(sums[4]);
    return metrics;
  });
}

StepMetrics Trainer::SftStep(const SequenceSet& sequences, double lr, const Checkpoint& checkpoint) {
  return Update(lr, [&] {
    double responseTokens = 0;
    for (int64_t i = 0; i < sequences.size(); ++i) {
      responseTokens += static_cast<double>(sequences.View(i).length - sequences.promptLengths[i]);
    }
    const std::vector<double> counts = SumOverRanks({static_cast<double>(sequences.size()), responseTokens});
    const double allResponseTokens = counts[1];
    StepMetrics metrics;
    metrics.examples = static_cast<int64_t>(counts[0]);
    at::Tensor nllSum;
    for (int64_t start = 0; start < sequences.size(); start += options_.microBatch) {
      checkpoint();
      const int64_t count = std::min(options_.microBatch, sequences.size() - start);
      std::vector<SequenceView> views;
      for (int64_t i = start; i < start + count; ++i) views.push_back(sequences.View(i));
      const SequenceBatch packed = PackSequences(views, model_->device());
      metrics.tokens += packed.tokenCount;
      SequenceLogprobs logprobs;
      {
        const AutocastScope autocast(model_->device().type(), Autocast(), at::kBFloat16);
        logprobs = ResponseLogprobs(*model_, packed, LayerRunner(), options_.chunks);
      }
      const at::Tensor nll = -logprobs.sum.sum();
      (nll / allResponseTokens).backward();
      nllSum = nllSum.defined() ? nllSum + nll.detach() : nll.detach();
    }
    const std::vector<double> sums = SumOverRanks({SumOf(nllSum), static_cast<double>(metrics.tokens)});
    metrics.loss = sums[0] / allResponseTokens;
    metrics.tokens = static_cast<int64_t>(sums[1]);
    return metrics;
  });
}

PairScores Trainer::Score(const SequenceSet& chosen, const SequenceSet& rejected, const Checkpoint& checkpoint,
                          model::AdapterUse adapterUse) const {
  at::NoGradGuard noGrad;
  PairScores scores;
  for (int64_t start = 0; start < chosen.size(); start += options_.microBatch) {
    checkpoint();
    const int64_t count = std::min(options_.microBatch, chosen.size() - start);
    const AutocastScope autocast(model_->device().type(), Autocast(), at::kBFloat16);
    const SequenceLogprobs logprobs =
        ResponseLogprobs(*model_,
                         PackPairs(PairViews(chosen, start, count), PairViews(rejected, start, count), model_->config(),
                                   model_->device()),
                         nullptr, options_.chunks, adapterUse);
    const at::Tensor sum = logprobs.sum.to(at::kCPU, at::kDouble).contiguous();
    const double* data = sum.data_ptr<double>();
    scores.chosen.insert(scores.chosen.end(), data, data + count);
    scores.rejected.insert(scores.rejected.end(), data + count, data + 2 * count);
  }
  return scores;
}

void Trainer::SaveModel(const std::string& dir, at::ScalarType dtype, uint64_t shardBytes,
                        const model::TensorProgress& progress) const {
  if (const model::LoraAdapter* adapter = model_->adapter()) {
    model::TensorMap weights;
    for (const Parameter& parameter : parameters_) weights.emplace(parameter.name, parameter.master);
    model::SaveLoraAdapter(dir, *adapter, weights, dtype);
    return;
  }
  model::TensorMap weights = model_->Parameters();
  for (const Parameter& parameter : parameters_) weights[parameter.name] = parameter.master;
  model::SaveWeights(dir, weights, model_->config(), dtype, shardBytes, progress);
}

void Trainer::SaveState(const std::string& path) const {
  // Each parameter's AdamW state: its own, or (sharded) its owner's, received into these.
  std::map<std::string, std::vector<at::Tensor>> states;
  for (const Parameter& parameter : parameters_) {
    if (!parameter.updated) continue;
    states[parameter.name] =
        Owns(parameter) ? std::vector<at::Tensor>{parameter.expAvg, parameter.expAvgSq, parameter.step.reshape({1})}
                        : std::vector<at::Tensor>{at::empty_like(parameter.master), at::empty_like(parameter.master),
                                                  at::empty({1}, parameter.master.options())};
  }
  if (Sharded()) {
    at::NoGradGuard noGrad;
    BroadcastFromOwners([&](const Parameter& parameter) {
      return parameter.updated ? states[parameter.name] : std::vector<at::Tensor>{};
    });
  }
  if (options_.group && options_.group->rank() != 0) return;
  model::TensorMap tensors;
  for (const Parameter& parameter : parameters_) {
    if (!parameter.master.is_same(parameter.weight)) tensors.emplace(kMaster + parameter.name, parameter.master);
    if (!parameter.updated) continue;
    const std::vector<at::Tensor>& state = states[parameter.name];
    tensors.emplace(kExpAvg + parameter.name, state[0]);
    tensors.emplace(kExpAvgSq + parameter.name, state[1]);
    tensors.emplace(kStep + parameter.name, at::full({1}, static_cast<int64_t>(state[2].item<double>()), at::kLong));
  }
  model::WriteSafetensors(path, tensors, {{"format", "genius-native-adamw"}});
}

void Trainer::LoadState(const std::string& path) {
  model::TensorMap tensors = model::ReadSafetensors(path, model_->device(), std::nullopt);
  const auto take = [&](const std::string& name, const at::Tensor& like) -> std::optional<at::Tensor> {
    const auto found = tensors.find(name);
    if (found == tensors.end()) return std::nullopt;
    at::Tensor tensor = found->second;
    tensors.erase(found);
    if (like.defined() && (tensor.sizes() != like.sizes() || tensor.scalar_type() != like.scalar_type())) {
      Fail(code::kBadFile, path + ": tensor '" + name + "' is " + c10::str(tensor.sizes()) + " " +
                               c10::toString(tensor.scalar_type()) + ", expected " + c10::str(like.sizes()) + " " +
                               c10::toString(like.scalar_type()) + " (a state file of another model?)");
    }
    return tensor;
  };
  at::NoGradGuard noGrad;
  for (Parameter& parameter : parameters_) {
    const bool ownMaster = !parameter.master.is_same(parameter.weight);
    if (const auto master = take(kMaster + parameter.name, ownMaster ? parameter.master : at::Tensor())) {
      if (!ownMaster) Fail(code::kBadFile, path + ": holds master weights, but this model is its own master");
      parameter.master.copy_(*master);
      parameter.weight.copy_(*master);
    }
    const auto expAvg = take(kExpAvg + parameter.name, parameter.master);
    const auto expAvgSq = take(kExpAvgSq + parameter.name, parameter.master);
    const auto step = take(kStep + parameter.name, at::Tensor());
    if (!expAvg && !expAvgSq && !step) continue;
    if (!expAvg || !expAvgSq || !step || step->numel() != 1 || step->scalar_type() != at::kLong) {
      Fail(code::kBadFile, path + ": the AdamW state of '" + parameter.name +
                               "' is incomplete (it needs exp_avg, exp_avg_sq and an int64 step)");
    }
    parameter.updated = true;
    // A sharded trainer keeps the state of its own parameters only.
    if (!Owns(parameter)) continue;
    parameter.step = at::full({}, static_cast<double>(step->item<int64_t>()), parameter.master.options());
    parameter.expAvg = expAvg->clone();
    parameter.expAvgSq = expAvgSq->clone();
  }
  if (!tensors.empty()) {
    Fail(code::kBadFile, path + ": holds '" + tensors.begin()->first + "', which no parameter of this model has");
  }
}

}  // namespace genius::train
