// Autocast (mixed precision) set for one scope of the current thread and restored after it. Autocast is
// thread-local, so work that runs on another thread (a worker, the backward engine) sets its own.
#pragma once

#include <ATen/autocast_mode.h>

namespace genius::train {

class AutocastScope {
 public:
  AutocastScope(at::DeviceType device, bool enabled, at::ScalarType dtype)
      : device_(device),
        wasEnabled_(at::autocast::is_autocast_enabled(device)),
        wasDtype_(at::autocast::get_autocast_dtype(device)),
        nested_(enabled) {
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
    if (nested_) at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    // Autocast caches the lower-precision copies of weights until its outermost scope ends; leaving
    // them would feed stale weights to the next forward once the optimizer has changed them.
    if (nested_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, wasEnabled_);
    at::autocast::set_autocast_dtype(device_, wasDtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  at::DeviceType device_;
  bool wasEnabled_;
  at::ScalarType wasDtype_;
  bool nested_;
};

}  // namespace genius::train
