#pragma once

namespace genius::memory {

// Makes libtorch's CPU tensors allocate through the recycling allocator (recycling_allocator.cc).
// Call once, before any tensor work.
void InstallRecyclingCpuAllocator();

}  // namespace genius::memory
