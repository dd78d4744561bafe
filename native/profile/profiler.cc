#include "profile/profiler.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "js/args.h"
#include "js/errors.h"

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

Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
  enabled.store(js::ReadBool(js::Arg(info, 0, "on"), "on"));
  return info.Env().Undefined();
}

// The table since the last call, as [{name, calls, selfMs, totalMs}], largest self time first; resets it.
Napi::Value TakeProfile(const Napi::CallbackInfo& info) {
  std::vector<std::pair<std::string, Totals>> rows;
  {
    std::lock_guard<std::mutex> lock(tableMutex);
    rows.assign(table.begin(), table.end());
    table.clear();
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.selfNs > b.second.selfNs; });
  Napi::Array result = Napi::Array::New(info.Env(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    Napi::Object row = Napi::Object::New(info.Env());
    row.Set("name", rows[i].first);
    row.Set("calls", static_cast<double>(rows[i].second.calls));
    row.Set("selfMs", rows[i].second.selfNs / 1e6);
    row.Set("totalMs", rows[i].second.totalNs / 1e6);
    result.Set(i, row);
  }
  return result;
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

void InitProfiler(Napi::Env env, Napi::Object exports) {
  exports.Set("setProfiling", Napi::Function::New<GuardedCall<&SetProfiling>>(env, "setProfiling"));
  exports.Set("takeProfile", Napi::Function::New<GuardedCall<&TakeProfile>>(env, "takeProfile"));
}

}  // namespace genius::profile
