// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
// then the data section that the offsets index. Files are untrusted input: the reader validates every
// header field against the file before touching data, and refuses anything malformed with
// ERR_GENIUS_BAD_FILE naming the file and the tensor or field. Checkpoints larger than one file are
// split into shards named by `model.safetensors.index.json` ({"weight_map": {tensor: shard file}}).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace genius::model {

using TensorMap = std::unordered_map<std::string, at::Tensor>;
using Metadata = std::map<std::string, std::string>;
// Called after each tensor is loaded or written, with the count so far and the total; it may throw
// (e.g. ERR_GENIUS_ABORTED) to stop the work between tensors.
using TensorProgress = std::function<void(size_t done, size_t total)>;

inline constexpr const char* kSingleFileName = "model.safetensors";
inline constexpr const char* kIndexFileName = "model.safetensors.index.json";

struct SafetensorsEntry {
  std::string name;
  at::ScalarType dtype = at::ScalarType::Undefined;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte range within the data section
  uint64_t end = 0;
};

// One validated safetensors file, memory-mapped for as long as this object lives: open it, load
// what is needed, let it go.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::string path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Sorted by name.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const Metadata& metadata() const { return metadata_; }
  const SafetensorsEntry* Find(const std::string& name) const;
  // A copy in owned memory on `device`; floating-point tensors become `floatDtype` when one is given,
  // integer and bool tensors keep their dtype.
  at::Tensor Load(const SafetensorsEntry& entry, at::Device device, std::optional<at::ScalarType> floatDtype) const;

 private:
  void ParseHeader();
  [[noreturn]] void Bad(const std::string& problem) const;  // ERR_GENIUS_BAD_FILE naming this file

  std::string path_;
  const uint8_t* bytes_ = nullptr;  // the whole file, mapped read-only
  size_t size_ = 0;
  uint64_t dataStart_ = 0;
  std::vector<SafetensorsEntry> entries_;
  Metadata metadata_;
};

TensorMap ReadSafetensors(const std::string& path, at::Device device, std::optional<at::ScalarType> floatDtype,
                          const TensorProgress& progress = {});

// Writes `tensors` (any device; written as contiguous CPU bytes) atomically: `<path>.tmp-<pid>`,
// fsync, rename. Tensors are laid out by decreasing element size, then name, and the header is padded
// with spaces to 8 bytes, so every tensor starts aligned to its element size, as the Python library does.
void WriteSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata,
                      const TensorProgress& progress = {});

// The tensors of a checkpoint directory: `model.safetensors`, else the shards that
// `model.safetensors.index.json` names (all files mapped while this object lives).
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& dir);

  // What the checkpoint holds (one per name), and the file each comes from.
  const std::vector<const SafetensorsEntry*>& entries() const { return entries_; }
  const std::string& FileOf(const SafetensorsEntry& entry) const;
  at::Tensor Load(const SafetensorsEntry& entry, at::Device device, std::optional<at::ScalarType> floatDtype) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<const SafetensorsEntry*> entries_;
  std::unordered_map<const SafetensorsEntry*, const SafetensorsFile*> fileOf_;
};

// Writes `tensors` into `dir` as `model.safetensors` when their data fits in `shardBytes` (0: no
// limit), else as `model-0000i-of-0000n.safetensors` shards of at most `shardBytes` each (a larger
// tensor gets a shard of its own) plus the index, the way transformers' save_pretrained does. Each
// shard carries `metadata`. The layout that is not written is removed, so a stale file never shadows.
void WriteSafetensorsCheckpoint(const std::string& dir, const TensorMap& tensors, const Metadata& metadata,
                                uint64_t shardBytes, const TensorProgress& progress = {});

}  // namespace genius::model
