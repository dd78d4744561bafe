// Where native time goes, for `genius-native bench --profile`: while profiling is on, every async
// native call runs under libtorch's profiler on its worker thread (the profiler is thread-local),
// and its events are folded into one table of self and total time per op and per named phase
// (GENIUS_PHASE scopes, profile/phase.h). Off by default; off, a call pays one atomic load.
#pragma once

#include <napi.h>

namespace genius::profile {

// Profiles the current thread for its lifetime when profiling is on.
class CallScope {
 public:
  CallScope();
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  bool active_ = false;
};

void InitProfiler(Napi::Env env, Napi::Object exports);

}  // namespace genius::profile
