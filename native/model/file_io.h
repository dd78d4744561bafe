// The file-system side of model directories: bounded reading of the small JSON files they hold
// (config.json, generation_config.json, the shard index) and atomic writing of every file we put
// there, so that a crash or a full disk never leaves a half-written checkpoint under its final name.
// Every failure throws ERR_GENIUS_BAD_FILE naming the file.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace genius::model {

// `path` joined to `name` with one separator.
std::string JoinPath(const std::string& dir, const std::string& name);
// Whether something readable is at `path`. A name that is there but cannot be followed (a symbolic link loop or
// to nothing, no permission) is ERR_GENIUS_BAD_FILE saying so, not reported as absent.
bool FileExists(const std::string& path);

// Parses `text` as JSON nested at most `maxDepth` deep; `source` names the file in errors. The depth
// limit keeps hostile input from costing deep recursion when the value is later walked or printed.
nlohmann::json ParseJson(std::string_view text, const std::string& source, int maxDepth);
// Reads and parses a JSON file of at most 64 MiB.
nlohmann::json ReadJsonFile(const std::string& path, int maxDepth = 64);

// A file written under a temporary name (`<path>.tmp-<pid>`) and renamed over `path` only on
// Commit(), after fsync; destroyed uncommitted, it removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void Write(const void* data, size_t size);
  // fsync, rename over the final path, fsync the directory so that the rename itself is durable.
  void Commit();

 private:
  std::string path_;
  std::string temporaryPath_;
  int fd_ = -1;
};

void WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace genius::model
