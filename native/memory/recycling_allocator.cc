// libtorch's CPU buffers of 64 KiB and more come from mmap here (addon.cc sets the threshold, to keep
// the heap from fragmenting), so each one costs a system call and a page fault per 4 KiB on first
// touch, and munmap when freed. A decode step allocates the same sizes as the step before, so the
// rollout spent a third of its CPU time in the kernel (user 3.9 s, sys 1.8 s at batch 64). Freed
// buffers are therefore kept by size and handed out again, the way PyTorch's CUDA allocator keeps
// blocks; sizes are rounded up to eighths of a power of two so that a sequence growing by a token
// still fits its block. Buffers below 64 KiB go to the ordinary heap, as before.
#include "memory/recycling_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace genius::memory {

namespace {

constexpr size_t kRecycleFrom = 64 * 1024;
// Free buffers kept at most: past it a freed buffer goes back to the system. Bounds the memory
// held for sizes that do not come back (prompts of another length, a finished workload).
constexpr size_t kMaxKeptBytes = size_t{1} << 30;

size_t SizeClass(size_t bytes) {
  if (bytes < kRecycleFrom) return bytes;
  size_t power = kRecycleFrom;
  while (power * 2 <= bytes) power *= 2;
  const size_t eighth = power / 8;
  return (bytes + eighth - 1) / eighth * eighth;
}

class RecyclingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) override {
    void* data = Take(SizeClass(bytes));
    return {data, data, &Release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }
  void copy_data(void* dest, const void* src, size_t count) const override { default_copy_data(dest, src, count); }

 private:
  static void* Take(size_t size) {
    if (size < kRecycleFrom) return c10::alloc_cpu(size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& free = free_[size];
      if (!free.empty()) {
        void* data = free.back();
        free.pop_back();
        kept_ -= size;
        live_[data] = size;
        return data;
      }
    }
    void* data = c10::alloc_cpu(size);
    std::lock_guard<std::mutex> lock(mutex_);
    live_[data] = size;
    return data;
  }

  static void Release(void* data) {
    if (data == nullptr) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto found = live_.find(data);
      if (found != live_.end()) {
        const size_t size = found->second;
        live_.erase(found);
        if (kept_ + size <= kMaxKeptBytes) {
          free_[size].push_back(data);
          kept_ += size;
          return;
        }
      }
    }
    c10::free_cpu(data);
  }

  static inline std::mutex mutex_;
  static inline std::unordered_map<void*, size_t> live_;  // recyclable buffers in use, by their size class
  static inline std::map<size_t, std::vector<void*>> free_;
  static inline size_t kept_ = 0;
};

}  // namespace

void InstallRecyclingCpuAllocator() {
  static RecyclingAllocator allocator;
  // Priority 1 outranks libtorch's default (0); buffers it allocated earlier keep their own deleter.
  c10::SetCPUAllocator(&allocator, 1);
}

}  // namespace genius::memory
