// The NCCL backend of a process group on CUDA (dist/process_group.h): compiled when libtorch has CUDA and the
// NCCL header was found (GENIUS_WITH_NCCL), in a translation unit of its own so that the CPU build never parses
// ProcessGroupNCCL.hpp and its CUDA headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace genius::dist {

// NCCL between `worldSize` ranks, this one on `device`, each collective bounded by `timeout`.
c10::intrusive_ptr<c10d::Backend> NcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                              int64_t worldSize, std::chrono::milliseconds timeout,
                                              const at::Device& device);

}  // namespace genius::dist
