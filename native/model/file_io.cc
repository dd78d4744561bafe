#include "model/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coded_error.h"

namespace genius::model {

namespace {

constexpr size_t kMaxJsonFileBytes = size_t{64} << 20;

[[noreturn]] void FailIo(const std::string& path, const std::string& action) {
  Fail(code::kBadFile, path + ": cannot " + action + " (" + std::strerror(errno) + ")");
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool FileExists(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) return true;
  const int error = errno;
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) return false;  // nothing by that name
  Fail(code::kBadFile,
       path + ": " + (error == ENOENT ? "is a symbolic link to nothing" : std::string(std::strerror(error))));
}

nlohmann::json ParseJson(std::string_view text, const std::string& source, int maxDepth) {
  // JSON text never holds a raw NUL (strings escape control characters), but nlohmann's lexer takes
  // one for the end of input and would ignore whatever follows it.
  if (text.find('\0') != std::string_view::npos) Fail(code::kBadFile, source + ": malformed JSON (a NUL byte)");
  // Depth is checked by a scan of its own: nlohmann's depth-reporting callback parser rescans the
  // parent container at the end of each child, which a hostile file with wide objects makes quadratic.
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (c == '\\') {
        ++i;  // skip the escaped character, which may be a quote
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if ((c == '[' || c == '{') && ++depth > maxDepth) {
      Fail(code::kBadFile, source + ": JSON nested deeper than " + std::to_string(maxDepth) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& error) {
    Fail(code::kBadFile, source + ": malformed JSON (" + error.what() + ")");
  }
}

nlohmann::json ReadJsonFile(const std::string& path, int maxDepth) {
  // O_NONBLOCK: opening a FIFO planted under a config's name must not hang the caller.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) FailIo(path, "open");
  std::string text;
  try {
    struct stat info {};
    if (::fstat(fd, &info) != 0) FailIo(path, "stat");
    if (!S_ISREG(info.st_mode)) Fail(code::kBadFile, path + ": not a regular file");
    if (static_cast<uint64_t>(info.st_size) > kMaxJsonFileBytes) {
      Fail(code::kBadFile, path + ": " + std::to_string(info.st_size) + " bytes, more than the " +
                               std::to_string(kMaxJsonFileBytes) + " a JSON file of a model may have");
    }
    text.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) FailIo(path, "read");
      if (got == 0) break;  // the file shrank while we read it; parse what is there
      done += static_cast<size_t>(got);
    }
    text.resize(done);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return ParseJson(text, path, maxDepth);
}

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temporaryPath_(path_ + ".tmp-" + std::to_string(::getpid())) {
  fd_ = ::open(temporaryPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) FailIo(temporaryPath_, "create");
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temporaryPath_.c_str());
}

void AtomicFile::Write(const void* data, size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) FailIo(temporaryPath_, "write");
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::Commit() {
  if (::fsync(fd_) != 0) FailIo(temporaryPath_, "fsync");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temporaryPath_.c_str());
    FailIo(temporaryPath_, "close");
  }
  if (::rename(temporaryPath_.c_str(), path_.c_str()) != 0) {
    const int renameError = errno;
    ::unlink(temporaryPath_.c_str());
    errno = renameError;
    FailIo(temporaryPath_, "rename it to " + path_);
  }
  const int dirFd = ::open(DirectoryOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {  // best effort: some file systems refuse to fsync a directory
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

void WriteFileAtomically(const std::string& path, std::string_view contents) {
  AtomicFile file(path);
  file.Write(contents.data(), contents.size());
  file.Commit();
}

}  // namespace genius::model
