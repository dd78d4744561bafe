// The errors native code throws, on the JS thread or a worker: every one carries a stable string
// `code` (ERR_GENIUS_*), so that callers can branch on it, and a message that names the argument, file
// or tensor concerned. Free of N-API, so that the libtorch code (model/, rollout/, train/) can throw
// them without knowing about JS; js/errors.h turns them into JS errors at the boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace genius {

namespace code {
inline constexpr const char* kInvalidArgument = "ERR_GENIUS_INVALID_ARG";
inline constexpr const char* kDisposed = "ERR_GENIUS_DISPOSED";
inline constexpr const char* kInvalidHandle = "ERR_GENIUS_INVALID_HANDLE";
inline constexpr const char* kAborted = "ERR_GENIUS_ABORTED";
inline constexpr const char* kOutOfMemory = "ERR_GENIUS_OUT_OF_MEMORY";
inline constexpr const char* kTorch = "ERR_GENIUS_TORCH";
inline constexpr const char* kInternal = "ERR_GENIUS_INTERNAL";
inline constexpr const char* kBadFile = "ERR_GENIUS_BAD_FILE";  // a model file, config or checkpoint that is malformed
inline constexpr const char* kNonFinite = "ERR_GENIUS_NON_FINITE";  // a loss, gradient or logit is NaN or inf
// A distributed run (dist/): a launch variable missing or wrong; the ranks could not meet; a peer died or hung.
inline constexpr const char* kDistEnv = "ERR_GENIUS_DIST_ENV";
inline constexpr const char* kDistRendezvous = "ERR_GENIUS_DIST_RENDEZVOUS";
inline constexpr const char* kDistPeer = "ERR_GENIUS_DIST_PEER";
}  // namespace code

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void Fail(const char* errorCode, const std::string& message) { throw Error(errorCode, message); }

}  // namespace genius
