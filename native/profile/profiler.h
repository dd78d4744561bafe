// Where native time goes, for `genius-native bench --profile`: while profiling is on, every async
// native call runs under libtorch's profiler on its worker thread (the profiler is thread-local),
// and its events are folded into one table of self and total time per op and per named phase
// (GENIUS_PHASE scopes, profile/phase.h). Off by default; off, a call pays one atomic load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

// Turns profiling on or off for the calls that start from now on (setProfiling).
void SetProfiling(bool on);

// One op (aten::mm) or named phase (rollout.decode) of the table: self time excludes what ran nested in it.
struct ProfileRow {
  std::string name;
  int64_t calls = 0;
  double selfMs = 0;
  double totalMs = 0;
};

// The table since the last call, largest self time first; resets it (takeProfile).
std::vector<ProfileRow> TakeProfile();

}  // namespace genius::profile
