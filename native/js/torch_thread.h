// The one thread that runs the tensor work of every long native call. libgomp keeps an OpenMP thread
// pool per thread that starts parallel regions, and once it manages more threads than there are CPUs
// it lets idle pool threads sleep almost at once: with libuv's four workers each starting regions,
// every matmul of a decode step had to wake a sleeping thread, and 2 intra-op threads ran the default
// model at batch 32 at 4.8k tokens/s where one worker thread ran it at 10.6k.
#pragma once

#include <functional>

namespace genius::js {

// Runs `work` on the torch thread and waits for it; an exception it throws is rethrown here.
void RunOnTorchThread(const std::function<void()>& work);

}  // namespace genius::js
