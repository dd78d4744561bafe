#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <cfloat>

#include "kernels/sampling.cuh"

namespace genius::kernels {

namespace {

constexpr int kThreads = 1024;
constexpr int kBisectionSteps = 32;

// Philox4x32-10 (Salmon et al. 2011): a counter-based generator, so every (row, token) draw is
// independent and reproducible without state.
__device__ uint4 Philox(uint4 counter, uint2 key) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t product0 = static_cast<uint64_t>(0xD2511F53u) * counter.x;
    const uint64_t product1 = static_cast<uint64_t>(0xCD9E8D57u) * counter.z;
    counter = make_uint4(static_cast<uint32_t>(product1 >> 32) ^ counter.y ^ key.x, static_cast<uint32_t>(product1),
                         static_cast<uint32_t>(product0 >> 32) ^ counter.w ^ key.y, static_cast<uint32_t>(product0));
    key.x += 0x9E3779B9u;
    key.y += 0xBB67AE85u;
  }
  return counter;
}

// log of an Exponential(1) draw's reciprocal's negation: log(1 / E) with E = -log(u), u in (0, 1).
__device__ float LogInverseExponential(uint64_t seed, uint64_t step, int64_t row, int64_t token) {
  const uint4 bits = Philox(make_uint4(static_cast<uint32_t>(token), static_cast<uint32_t>(token >> 32),
                                       static_cast<uint32_t>(row), static_cast<uint32_t>(step)),
                            make_uint2(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)));
  const float uniform = (static_cast<float>(bits.x >> 8) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
  return -logf(-logf(uniform));
}

template <typename T, typename Op>
__device__ T BlockReduce(T value, Op op, T* shared) {
  for (int offset = 16; offset > 0; offset >>= 1) value = op(value, __shfl_xor_sync(0xffffffffu, value, offset));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // `shared` may still be read by a previous reduction
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  value = shared[0];
  for (int w = 1; w < blockDim.x / 32; ++w) value = op(value, shared[w]);
  return value;
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// One block per row.
__global__ void SampleKernel(const float* __restrict__ logits, int64_t vocab, float temperature, float topP,
                             int64_t topK, float minP, uint64_t seed, uint64_t step,
                             const int64_t* __restrict__ rowSeeds, const bool* __restrict__ stopMask,
                             const int64_t* __restrict__ eosIds, int64_t eosCount, int64_t* __restrict__ tokens,
                             float* __restrict__ logprobs, bool* __restrict__ finished) {
  __shared__ float sharedFloat[kThreads / 32];
  __shared__ float bestScore[kThreads / 32];
  __shared__ int64_t bestToken[kThreads / 32];
  const int64_t row = blockIdx.x;
  const float* rowLogits = logits + row * vocab;
  // A row with a seed of its own is a stream of its own; else the rows are the streams of the call's seed.
  const uint64_t streamSeed = rowSeeds != nullptr ? static_cast<uint64_t>(rowSeeds[row]) : seed;
  const int64_t stream = rowSeeds != nullptr ? 0 : row;

  float localMax = -FLT_MAX;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) localMax = fmaxf(localMax, rowLogits[i]);
  const float maximum = BlockReduce(localMax, Max{}, sharedFloat);
  float localSum = 0.0f;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) localSum += expf(rowLogits[i] - maximum);
  const float logNormaliser = maximum + logf(BlockReduce(localSum, Sum{}, sharedFloat));

  // Tokens with logit >= cutoff survive top-k and top-p.
  float cutoff = -FLT_MAX;
  const bool greedy = temperature == 0.0f;
  if (!greedy && topK > 0 && topK < vocab) {
    float low = -FLT_MAX, high = maximum;  // invariant: count(l >= low) >= topK
    float localMin = FLT_MAX;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) localMin = fminf(localMin, rowLogits[i]);
    low = -BlockReduce(-localMin, Max{}, sharedFloat);
    for (int iteration = 0; iteration < kBisectionSteps; ++iteration) {
      const float middle = 0.5f * (low + high);
      float localCount = 0.0f;
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) localCount += rowLogits[i] >= middle ? 1.0f : 0.0f;
      if (BlockReduce(localCount, Sum{}, sharedFloat) >= static_cast<float>(topK))
        low = middle;
      else
        high = middle;
    }
    cutoff = low;
  }
  if (!greedy && topP < 1.0f) {
    // Mass of the survivors, renormalised after top-k as the ATen twin does.
    float localKept = 0.0f;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      if (rowLogits[i] >= cutoff) localKept += expf((rowLogits[i] - maximum) / temperature);
    }
    const float kept = BlockReduce(localKept, Sum{}, sharedFloat);
    float low = cutoff, high = maximum;  // invariant: mass(l >= low) >= topP * kept
    for (int iteration = 0; iteration < kBisectionSteps; ++iteration) {
      const float middle = 0.5f * (low + high);
      float localMass = 0.0f;
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (rowLogits[i] >= middle) localMass += expf((rowLogits[i] - maximum) / temperature);
      }
      if (BlockReduce(localMass, Sum{}, sharedFloat) >= topP * kept)
        low = middle;
      else
        high = middle;
    }
    cutoff = low;
  }
  if (!greedy && minP > 0.0f) {
    // p_i >= minP * p_max after temperature is l_i >= max + T log(minP): a threshold like the others, which keeps
    // the most likely token, so it applies after them whatever mass they took away.
    cutoff = fmaxf(cutoff, maximum + temperature * logf(minP));
  }

  // argmax of p_i / E_i, in logs: (l_i - max) / T + log(1 / E_i); greedy is argmax l_i.
  float score = -FLT_MAX;
  int64_t token = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float logit = rowLogits[i];
    if (logit < cutoff) continue;
    const float candidate =
        greedy ? logit : (logit - maximum) / temperature + LogInverseExponential(streamSeed, step, stream, i);
    if (candidate > score) {
      score = candidate;
      token = i;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float otherScore = __shfl_xor_sync(0xffffffffu, score, offset);
    const int64_t otherToken = __shfl_xor_sync(0xffffffffu, token, offset);
    if (otherScore > score || (otherScore == score && otherToken < token)) {
      score = otherScore;
      token = otherToken;
    }
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    bestScore[warp] = score;
    bestToken[warp] = token;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < blockDim.x / 32; ++w) {
    if (bestScore[w] > score || (bestScore[w] == score && bestToken[w] < token)) {
      score = bestScore[w];
      token = bestToken[w];
    }
  }
  tokens[row] = token;
  logprobs[row] = rowLogits[token] - logNormaliser;
  bool stop = stopMask != nullptr && stopMask[token];
  for (int64_t e = 0; e < eosCount; ++e) stop = stop || eosIds[e] == token;
  if (stop) finished[row] = true;
}

}  // namespace

void SampleTokensCuda(const at::Tensor& logits, double temperature, double topP, int64_t topK, double minP,
                      uint64_t seed, uint64_t step, const at::Tensor& rowSeeds, const at::Tensor& stopMask,
                      const at::Tensor& eosIds, at::Tensor& tokens, at::Tensor& logprobs, at::Tensor& finished) {
  TORCH_CHECK(logits.is_cuda() && logits.scalar_type() == at::kFloat && logits.dim() == 2 && logits.is_contiguous(),
              "SampleTokensCuda: logits must be a contiguous float32 CUDA matrix");
  const c10::cuda::CUDAGuard guard(logits.device());
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  if (rows == 0) return;
  SampleKernel<<<rows, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      logits.data_ptr<float>(), vocab, static_cast<float>(temperature), static_cast<float>(topP), topK,
      static_cast<float>(minP), seed, step, rowSeeds.defined() ? rowSeeds.data_ptr<int64_t>() : nullptr,
      stopMask.defined() ? stopMask.data_ptr<bool>() : nullptr, eosIds.defined() ? eosIds.data_ptr<int64_t>() : nullptr,
      eosIds.defined() ? eosIds.numel() : 0, tokens.data_ptr<int64_t>(), logprobs.data_ptr<float>(),
      finished.data_ptr<bool>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace genius::kernels
