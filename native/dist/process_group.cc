#include "dist/process_group.h"

#include <arpa/inet.h>
#include <c10/util/Exception.h>
#include <c10/util/Logging.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <utility>

#include "coded_error.h"
#ifdef GENIUS_WITH_NCCL
#include "dist/nccl_backend.h"
#endif

namespace genius::dist {

namespace {

// Tells, once a collective has failed, which ranks stopped answering. While it lives every rank adds to a counter of
// its own in the store, from a thread of its own, so that a rank busy computing still beats and a dead or stopped
// process does not; the counters that stand still over a few beats are the ranks that died or hang. It talks to the
// store over a connection of its own (a clone), so that it never waits behind another call.
class Heartbeat {
 public:
  Heartbeat(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t worldSize,
            std::chrono::milliseconds interval)
      : store_(store->clone()), rank_(rank), worldSize_(worldSize), interval_(interval) {
    // A store that does not answer within a few beats is as good as gone.
    store_->setTimeout(4 * interval_);
    thread_ = std::thread([this] { Beat(); });
  }
  ~Heartbeat() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The other ranks whose counters stand still over three beats. Throws c10::Error when the store does not answer.
  std::vector<int64_t> SilentRanks() {
    const std::vector<int64_t> before = Counters();
    std::this_thread::sleep_for(3 * interval_);
    const std::vector<int64_t> after = Counters();
    std::vector<int64_t> silent;
    for (int64_t rank = 0; rank < worldSize_; ++rank) {
      if (rank != rank_ && after[rank] == before[rank]) silent.push_back(rank);
    }
    return silent;
  }

 private:
  static std::string Key(int64_t rank) { return "alive/" + std::to_string(rank); }

  std::vector<int64_t> Counters() {
    const std::lock_guard<std::mutex> lock(storeMutex_);
    std::vector<int64_t> counters;
    for (int64_t rank = 0; rank < worldSize_; ++rank) counters.push_back(store_->add(Key(rank), 0));
    return counters;
  }

  void Beat() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        const std::lock_guard<std::mutex> storeLock(storeMutex_);
        store_->add(Key(rank_), 1);
      } catch (const c10::Error&) {
        // The store is gone (its host died, or the run is ending): SilentRanks tells the caller.
      }
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  const int64_t rank_;
  const int64_t worldSize_;
  const std::chrono::milliseconds interval_;
  std::mutex storeMutex_;  // one call at a time on the connection
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

struct ProcessGroup::Engine {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::unique_ptr<Heartbeat> heartbeat;
};

namespace {

// A beat every twentieth of the timeout (within [50 ms, 2 s]): telling the silent ranks takes three beats, a
// small share of the time a hung rank has already cost.
std::chrono::milliseconds BeatInterval(std::chrono::milliseconds timeout) {
  return std::clamp(timeout / 20, std::chrono::milliseconds(50), std::chrono::milliseconds(2000));
}

std::string Seconds(std::chrono::milliseconds timeout) {
  return c10::str(static_cast<double>(timeout.count()) / 1000.0, " s");
}

std::string Endpoint(const GroupOptions& options) {
  return "MASTER_ADDR=" + options.masterAddr + " MASTER_PORT=" + std::to_string(options.masterPort);
}

// An error's message without the C++ context and backtrace libtorch appends after its first line. Gloo's own
// errors (a peer's connection reset) are not c10::Errors.
std::string Reason(const std::exception& error) {
  const auto* torchError = dynamic_cast<const c10::Error*>(&error);
  const std::string message = torchError != nullptr ? torchError->msg() : error.what();
  return message.substr(0, message.find('\n'));
}

bool Mentions(const c10::Error& error, const char* text) { return error.msg().find(text) != std::string::npos; }

// The address of this machine's interface that routes to `host` (a UDP socket's connect sends nothing): Gloo
// listens there, so that ranks reach each other over the network the master is on, and over loopback when
// MASTER_ADDR is a loopback address.
std::string LocalAddressTowards(const std::string& host, int64_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr) {
    Fail(code::kDistEnv, "MASTER_ADDR=" + host + " does not resolve to an address of rank 0's host");
  }
  std::string local;
  for (const addrinfo* address = found; address != nullptr && local.empty(); address = address->ai_next) {
    const int fd = socket(address->ai_family, address->ai_socktype, 0);
    if (fd < 0) continue;
    sockaddr_storage self{};
    socklen_t length = sizeof(self);
    char text[INET6_ADDRSTRLEN] = {};
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&self), &length) == 0) {
      const void* bytes = self.ss_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&self)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&self)->sin6_addr);
      if (inet_ntop(self.ss_family, bytes, text, sizeof(text)) != nullptr) local = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (local.empty()) Fail(code::kDistEnv, "MASTER_ADDR=" + host + ": no network interface of this host reaches it");
  return local;
}

c10::intrusive_ptr<c10d::Store> ConnectStore(const GroupOptions& options) {
  c10d::TCPStoreOptions store;
  store.port = static_cast<uint16_t>(options.masterPort);
  store.isServer = options.hostStore;
  store.numWorkers = static_cast<size_t>(options.worldSize);
  store.waitWorkers = true;
  store.timeout = options.timeout;
  try {
    return c10::make_intrusive<c10d::PrefixStore>(options.storePrefix,
                                                  c10::make_intrusive<c10d::TCPStore>(options.masterAddr, store));
  } catch (const c10::Error& error) {
    if (options.hostStore && (Mentions(error, "EADDRINUSE") || Mentions(error, "address already in use"))) {
      Fail(code::kDistRendezvous, "MASTER_PORT=" + std::to_string(options.masterPort) + " is in use on " +
                                      options.masterAddr + " (another run?): rank 0 cannot host the store there");
    }
    if (options.hostStore) {
      Fail(code::kDistRendezvous, "WORLD_SIZE=" + std::to_string(options.worldSize) +
                                      ": not every rank reached rank 0's store at " + Endpoint(options) + " within " +
                                      Seconds(options.timeout) + " (" + Reason(error) + ")");
    }
    Fail(code::kDistRendezvous, "the store at " + Endpoint(options) + " did not answer within " +
                                    Seconds(options.timeout) + " (is rank 0 running, with the same MASTER_ADDR and " +
                                    "MASTER_PORT?): " + Reason(error));
  }
}

// Gloo listens on the interface GLOO_SOCKET_IFNAME names (as in PyTorch), else on the one that reaches the master.
c10::intrusive_ptr<c10d::Backend> GlooBackend(const c10::intrusive_ptr<c10d::Store>& store,
                                              const GroupOptions& options) {
  auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  gloo->devices.push_back(interface != nullptr && *interface != '\0'
                              ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                              : c10d::ProcessGroupGloo::createDeviceForHostname(
                                    LocalAddressTowards(options.masterAddr, options.masterPort)));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(options.rank),
                                                     static_cast<int>(options.worldSize), gloo);
}

}  // namespace

ProcessGroup::ProcessGroup(GroupOptions options, std::unique_ptr<Engine> engine)
    : options_(std::move(options)), engine_(std::move(engine)) {}

ProcessGroup::~ProcessGroup() {
  // Stops beating, then joins the backend's threads and closes its connections before the store they met through
  // goes.
  engine_->heartbeat.reset();
  engine_->backend->shutdown();
}

std::shared_ptr<ProcessGroup> ProcessGroup::Join(const GroupOptions& options) {
  // c10d logs each failure it then throws, with a C++ backtrace, to stderr; the coded error that reaches the
  // caller carries the same reason in one line. TORCH_CPP_LOG_LEVEL, as in PyTorch, brings the log back.
  if (std::getenv("TORCH_CPP_LOG_LEVEL") == nullptr)
    FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, c10::GLOG_FATAL);
  auto engine = std::make_unique<Engine>();
  engine->store = ConnectStore(options);
  try {
    if (options.device.is_cuda()) {
#ifdef GENIUS_WITH_NCCL
      engine->backend = NcclBackend(engine->store, options.rank, options.worldSize, options.timeout, options.device);
#else
      Fail(code::kInvalidArgument, "argument 'device' must be 'cpu': this build has no NCCL (a CPU-only libtorch)");
#endif
    } else {
      engine->backend = GlooBackend(engine->store, options);
    }
  } catch (const c10::Error& error) {
    Fail(code::kDistRendezvous, "WORLD_SIZE=" + std::to_string(options.worldSize) +
                                    ": the ranks met at the store but could not all connect to each other within " +
                                    Seconds(options.timeout) + ": " + Reason(error));
  }
  engine->heartbeat =
      std::make_unique<Heartbeat>(engine->store, options.rank, options.worldSize, BeatInterval(options.timeout));
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(options, std::move(engine)));
}

template <typename Issue>
void ProcessGroup::Run(const char* what, Issue issue) {
  const int64_t number = ++collectives_;
  try {
    issue(*engine_->backend)->wait(options_.timeout);
  } catch (const std::exception& error) {
    const std::string failed = std::string(what) + " (collective " + std::to_string(number) + ") failed on rank " +
                               std::to_string(options_.rank) + " of " + std::to_string(options_.worldSize) + ": " +
                               Reason(error);
    std::string culprits;
    try {
      for (const int64_t rank : engine_->heartbeat->SilentRanks()) {
        culprits += (culprits.empty() ? "rank " : ", rank ") + std::to_string(rank);
      }
      culprits = culprits.empty() ? "" : culprits + " stopped answering (died or hangs); ";
    } catch (const c10::Error&) {
      culprits = "the store at " + Endpoint(options_) +
                 " stopped answering: its host (rank 0, unless torchrun's agent holds it) died or hangs; ";
    }
    Fail(code::kDistPeer, culprits + failed);
  }
}

void ProcessGroup::AllReduce(std::vector<at::Tensor>& tensors) {
  if (tensors.empty()) return;
  Run("all-reduce", [&](c10d::Backend& backend) { return backend.allreduce_coalesced(tensors); });
}

void ProcessGroup::Broadcast(at::Tensor& tensor, int64_t root) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::BroadcastOptions broadcast;
  broadcast.rootRank = root;
  Run("broadcast", [&](c10d::Backend& backend) { return backend.broadcast(tensors, broadcast); });
}

std::vector<at::Tensor> ProcessGroup::AllGather(const at::Tensor& tensor) {
  // The first dimension may differ between ranks: each learns the others' first, then all send as many rows
  // as the longest, and the padding is cut off.
  std::vector<at::Tensor> rows{at::full({1}, tensor.dim() == 0 ? 1 : tensor.size(0), at::kLong).to(tensor.device())};
  std::vector<std::vector<at::Tensor>> gatheredRows(1);
  for (int64_t r = 0; r < size(); ++r) gatheredRows[0].push_back(at::empty_like(rows[0]));
  Run("all-gather", [&](c10d::Backend& backend) { return backend.allgather(gatheredRows, rows); });
  std::vector<int64_t> counts;
  for (const at::Tensor& count : gatheredRows[0]) counts.push_back(count.item<int64_t>());
  const int64_t longest = *std::max_element(counts.begin(), counts.end());

  at::Tensor padded = tensor.dim() == 0 ? tensor.reshape({1}) : tensor;
  if (padded.size(0) < longest) {
    std::vector<int64_t> padShape = padded.sizes().vec();
    padShape[0] = longest - padded.size(0);
    padded = at::cat({padded, at::zeros(padShape, padded.options())});
  }
  std::vector<at::Tensor> inputs{padded.contiguous()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < size(); ++r) outputs[0].push_back(at::empty_like(inputs[0]));
  Run("all-gather", [&](c10d::Backend& backend) { return backend.allgather(outputs, inputs); });
  std::vector<at::Tensor> gathered;
  for (int64_t r = 0; r < size(); ++r) {
    const at::Tensor rowsOf = outputs[0][r].narrow(0, 0, counts[r]);
    gathered.push_back(tensor.dim() == 0 ? rowsOf.reshape({}) : rowsOf);
  }
  return gathered;
}

void ProcessGroup::Barrier() {
  Run("barrier", [&](c10d::Backend& backend) { return backend.barrier(); });
}

}  // namespace genius::dist
