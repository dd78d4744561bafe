// A product of few rows with a weight larger than the caches, for the CPU: out = x · weightᵀ, as at::linear
// computes it, at the shapes of a decode step's LM head (a few dozen rows against a vocabulary of 100k or more).
// MKL's sgemm packs the weight into panels before it multiplies, so at few rows it reads the weight (545 MB at
// Qwen2.5's 151,936 × 896) twice and writes it once; this kernel reads it once, a tile of weight rows at a time,
// and multiplies each tile with every row of x while the tile is in L1 (x, a few hundred KiB, stays in L2).
// No torch headers here: the caller splits the columns over threads.
#pragma once

#include <cstdint>

namespace genius::kernels {

// out[r, n] = Σ_k x[r, k] · weight[n, k] for r < rows and begin ≤ n < end; x is [rows, depth] and weight
// [*, depth], both row-major and contiguous, float32; out has rows of outStride floats.
void SkinnyMatmul(const float* x, int64_t rows, int64_t depth, const float* weight, int64_t begin, int64_t end,
                  float* out, int64_t outStride);

}  // namespace genius::kernels
