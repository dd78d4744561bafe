#include "profile/profiler.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace genius::profile {

namespace {

namespace kineto = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

struct Totals {
  int64_t calls = 0;
  uint64_t selfNs = 0;
  uint64_t totalNs = 0;
};

std::atomic<bool> enabled{false};
std::mutex tableMutex;
std::map<std::string, Totals> table;

// Self time = own duration minus that of the events nested directly inside, per thread.
void Fold(const std::vector<kineto::KinetoEvent>& events) {
  std::map<uint64_t, std::vector<const kineto::KinetoEvent*>> byThread;
  for (const auto& event : events) {
    if (event.deviceType() == c10::DeviceType::CPU) byThread[event.startThreadId()].push_back(&event);
  }
  std::lock_guard<std::mutex> lock(tableMutex);
  for (auto& [thread, list] : byThread) {
    std::sort(list.begin(), list.end(), [](const auto* a, const auto* b) {
      return a->startNs() != b->startNs() ? a->startNs() < b->startNs() : a->endNs() > b->endNs();
    });
    std::vector<std::pair<const kineto::KinetoEvent*, uint64_t>> open;  // event, time of its children
    const auto close = [&] {
      const auto [event, children] = open.back();
      open.pop_back();
      Totals& totals = table[event->name()];
      ++totals.calls;
      totals.totalNs += event->durationNs();
      totals.selfNs += event->durationNs() - std::min(children, event->durationNs());
      if (!open.empty()) open.back().second += event->durationNs();
    };
    for (const auto* event : list) {
      while (!open.empty() && open.back().first->endNs() <= event->startNs()) close();
      open.emplace_back(event, 0);
    }
    while (!open.empty()) close();
  }
}

}  // namespace

CallScope::CallScope() {
  if (!enabled.load()) return;
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  const std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  kineto::prepareProfiler(config, activities);
  kineto::enableProfiler(config, activities);
  active_ = true;
}

CallScope::~CallScope() {
  if (!active_) return;
  try {
    Fold(kineto::disableProfiler()->events());
  } catch (...) {
    // A profile that could not be read is lost; the call's own result is not.
  }
}

void SetProfiling(bool on) { enabled.store(on); }

std::vector<ProfileRow> TakeProfile() {
  std::vector<std::pair<std::string, Totals>> totals;
  {
    std::lock_guard<std::mutex> lock(tableMutex);
    totals.assign(table.begin(), table.end());
    table.clear();
  }
  std::sort(totals.begin(), totals.end(),
            [](const auto& a, const auto& b) { return a.second.selfNs > b.second.selfNs; });
  std::vector<ProfileRow> rows;
  for (const auto& [name, entry] : totals) rows.push_back({name, entry.calls, entry.selfNs / 1e6, entry.totalNs / 1e6});
  return rows;
}

}  // namespace genius::profile
