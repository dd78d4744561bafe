// One process's membership of a run spread over many processes (ranks): libtorch's own c10d engine, as
// torchrun-launched PyTorch programs use it. The ranks meet at a TCPStore hosted by rank 0 (MASTER_ADDR,
// MASTER_PORT), then talk through Gloo on the CPU or NCCL on CUDA. Every collective waits at most the group's
// timeout: a rank that died or hung makes the others fail with ERR_GENIUS_DIST_PEER naming it, never hang.
//
// Free of N-API (js/process_group_handle.h holds it for JS) and of c10d's headers, which only
// process_group.cc includes. Not thread-safe: the caller runs one collective at a time (the torch thread does).
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace genius::dist {

struct GroupOptions {
  int64_t rank = 0;
  int64_t worldSize = 1;
  std::string masterAddr;  // where the store listens
  int64_t masterPort = 0;
  // Whether this rank hosts the store (rank 0, unless torchrun's agent hosts it: TORCHELASTIC_USE_AGENT_STORE).
  bool hostStore = false;
  // The run's keys in the store, apart from other attempts' (a restart meets the agent's store again).
  std::string storePrefix;
  // How long joining may wait for every rank, and a collective for its peers.
  std::chrono::milliseconds timeout{0};
  // Where the collectives' tensors live: Gloo for the CPU, NCCL for CUDA (builds against a CUDA libtorch only).
  at::Device device = at::kCPU;
};

class ProcessGroup {
 public:
  // Meets the other ranks and connects to them. Throws ERR_GENIUS_DIST_RENDEZVOUS naming MASTER_PORT when the port
  // is taken, and MASTER_ADDR / WORLD_SIZE when the store cannot be reached or the ranks do not all arrive in time.
  static std::shared_ptr<ProcessGroup> Join(const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const { return options_.rank; }
  int64_t size() const { return options_.worldSize; }
  const at::Device& device() const { return options_.device; }

  // Sums the tensors over all ranks, in place; every rank passes tensors of the same shapes and dtypes.
  void AllReduce(std::vector<at::Tensor>& tensors);
  // Rank `root`'s tensor, into every rank's (same shape and dtype), in place.
  void Broadcast(at::Tensor& tensor, int64_t root);
  // Every rank's tensor, in rank order. The tensors may differ in their first dimension only.
  std::vector<at::Tensor> AllGather(const at::Tensor& tensor);
  // Returns once every rank has called it.
  void Barrier();

 private:
  struct Engine;  // the c10d objects (process_group.cc)
  ProcessGroup(GroupOptions options, std::unique_ptr<Engine> engine);
  // Runs a collective named `what`, turning its failure into ERR_GENIUS_DIST_PEER.
  template <typename Issue>
  void Run(const char* what, Issue issue);

  GroupOptions options_;
  std::unique_ptr<Engine> engine_;
  int64_t collectives_ = 0;  // collectives issued, for error messages
};

}  // namespace genius::dist
