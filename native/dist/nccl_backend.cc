// Compiled to nothing unless GENIUS_WITH_NCCL (CMakeLists.txt): a CPU build has no NCCL to link.
#ifdef GENIUS_WITH_NCCL
#include "dist/nccl_backend.h"

#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace genius::dist {

c10::intrusive_ptr<c10d::Backend> NcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                              int64_t worldSize, std::chrono::milliseconds timeout,
                                              const at::Device& device) {
  // NCCL makes its communicator on the current device; binding it lets the first collective connect eagerly.
  c10::cuda::set_device(device.index());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  auto backend =
      c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(rank), static_cast<int>(worldSize), options);
  backend->setBoundDeviceId(device);
  return backend;
}

}  // namespace genius::dist
#endif
