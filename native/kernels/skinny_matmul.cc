#include "kernels/skinny_matmul.h"

#include <cstring>

namespace genius::kernels {

namespace {

// 16 floats: one AVX-512 register, two AVX2 ones; GCC's vector extension compiles it for each target below.
using Vec = float __attribute__((vector_size(64)));
using Lanes = int __attribute__((vector_size(64)));
constexpr int kWidth = 16;
// A tile of kRows rows of x by kColumns weight rows: 16 accumulators, 4 weight vectors and one of x fit the 32
// AVX-512 registers, and each step loads 8 vectors for 16 fused multiply-adds.
constexpr int kRows = 4;
constexpr int kColumns = 4;

#define GENIUS_INLINE __attribute__((always_inline)) inline

GENIUS_INLINE Vec Load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

GENIUS_INLINE float Sum(Vec v) {
  v += __builtin_shuffle(v, Lanes{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  v += __builtin_shuffle(v, Lanes{4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, Lanes{2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
  return v[0] + v[1];
}

// out[r, c] for the tile's R rows of x and C rows of weight: dot products along depth.
template <int R, int C>
GENIUS_INLINE void Tile(const float* x, int64_t depth, const float* weight, float* out, int64_t outStride) {
  Vec sums[R][C] = {};
  int64_t k = 0;
  for (; k + kWidth <= depth; k += kWidth) {
    Vec w[C];
    for (int c = 0; c < C; ++c) w[c] = Load(weight + c * depth + k);
    for (int r = 0; r < R; ++r) {
      const Vec v = Load(x + r * depth + k);
      for (int c = 0; c < C; ++c) sums[r][c] += v * w[c];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float sum = Sum(sums[r][c]);
      for (int64_t tail = k; tail < depth; ++tail) sum += x[r * depth + tail] * weight[c * depth + tail];
      out[r * outStride + c] = sum;
    }
  }
}

// Every row of x against C weight rows.
template <int C>
GENIUS_INLINE void Columns(const float* x, int64_t rows, int64_t depth, const float* weight, float* out,
                           int64_t outStride) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) Tile<kRows, C>(x + r * depth, depth, weight, out + r * outStride, outStride);
  const float* rest = x + r * depth;
  float* restOut = out + r * outStride;
  switch (rows - r) {
    case 3: Tile<3, C>(rest, depth, weight, restOut, outStride); break;
    case 2: Tile<2, C>(rest, depth, weight, restOut, outStride); break;
    case 1: Tile<1, C>(rest, depth, weight, restOut, outStride); break;
    default: break;
  }
}

}  // namespace

// One clone per instruction set; the loader picks the machine's.
[[gnu::target_clones("avx512f", "avx2,fma", "default")]] void SkinnyMatmul(const float* x, int64_t rows, int64_t depth,
                                                                           const float* weight, int64_t begin,
                                                                           int64_t end, float* out, int64_t outStride) {
  int64_t n = begin;
  for (; n + kColumns <= end; n += kColumns) Columns<kColumns>(x, rows, depth, weight + n * depth, out + n, outStride);
  for (; n < end; ++n) Columns<1>(x, rows, depth, weight + n * depth, out + n, outStride);
}

}  // namespace genius::kernels
