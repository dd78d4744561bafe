// A named phase (e.g. "rollout.decode") in `bench --profile`'s table (profile/profiler.h); it costs
// next to nothing when profiling is off.
#pragma once

#include <ATen/record_function.h>

#define GENIUS_PHASE(name) RECORD_USER_SCOPE(name)
