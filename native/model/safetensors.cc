#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "coded_error.h"
#include "model/file_io.h"

namespace genius::model {

namespace {

// The Python library's limit; a real header is kilobytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A header needs 3 levels (root, tensor entry, shape); readers ignore unknown fields, so some slack
// is allowed, but not the unbounded nesting of a hostile file.
constexpr int kMaxHeaderDepth = 16;
constexpr size_t kMaxDimensions = 64;
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeName {
  const char* name;
  at::ScalarType dtype;
};

constexpr DTypeName kDTypeNames[] = {
    {"BOOL", at::ScalarType::Bool},
    {"U8", at::ScalarType::Byte},
    {"I8", at::ScalarType::Char},
    {"I16", at::ScalarType::Short},
    {"U16", at::ScalarType::UInt16},
    {"I32", at::ScalarType::Int},
    {"U32", at::ScalarType::UInt32},
    {"I64", at::ScalarType::Long},
    {"U64", at::ScalarType::UInt64},
    {"F16", at::ScalarType::Half},
    {"BF16", at::ScalarType::BFloat16},
    {"F32", at::ScalarType::Float},
    {"F64", at::ScalarType::Double},
    {"F8_E4M3", at::ScalarType::Float8_e4m3fn},
    {"F8_E5M2", at::ScalarType::Float8_e5m2},
    {"F8_E4M3FNUZ", at::ScalarType::Float8_e4m3fnuz},
    {"F8_E5M2FNUZ", at::ScalarType::Float8_e5m2fnuz},
    {"C64", at::ScalarType::ComplexFloat},
};

std::optional<at::ScalarType> DTypeFromName(const std::string& name) {
  for (const auto& known : kDTypeNames) {
    if (name == known.name) return known.dtype;
  }
  return std::nullopt;
}

std::string KnownDTypeNames() {
  std::string names;
  for (const auto& known : kDTypeNames) names += (names.empty() ? "" : ", ") + std::string(known.name);
  return names;
}

const char* NameOfDType(at::ScalarType dtype) {
  for (const auto& known : kDTypeNames) {
    if (dtype == known.dtype) return known.name;
  }
  return nullptr;
}

// A tensor name for a message: names come from the file, so a hostile one is cut short.
std::string Quoted(const std::string& name) {
  constexpr size_t kShown = 120;
  return "'" + (name.size() > kShown ? name.substr(0, kShown) + "..." : name) + "'";
}

std::string ShapeText(const std::vector<int64_t>& shape) { return c10::str(at::IntArrayRef(shape)); }

// Stores a JSON integer >= 0 in `out`; false for anything else (negative, fractional, too large, not a number).
bool ReadNonNegative(const nlohmann::json& value, uint64_t& out) {
  if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<int64_t>() < 0)) return false;
  out = value.get<uint64_t>();
  return true;
}

// Orders names with digit runs compared as numbers, so shards hold layers 0, 1, 2, ... 10 in turn.
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      const size_t aStart = i;
      const size_t bStart = j;
      while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
      while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
      const std::string_view aDigits = std::string_view(a).substr(aStart, i - aStart);
      const std::string_view bDigits = std::string_view(b).substr(bStart, j - bStart);
      if (aDigits.size() != bDigits.size()) return aDigits.size() < bDigits.size();
      if (aDigits != bDigits) return aDigits < bDigits;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

uint64_t TensorBytes(const at::Tensor& tensor) {
  return static_cast<uint64_t>(tensor.numel()) * static_cast<uint64_t>(tensor.element_size());
}

bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  // O_NONBLOCK: a FIFO under a weights file name must fail the S_ISREG check, not hang the open.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) Fail(code::kBadFile, path_ + ": cannot open (" + std::strerror(errno) + ")");
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    Fail(code::kBadFile, path_ + ": not a regular file");
  }
  size_ = static_cast<size_t>(info.st_size);
  if (size_ < 8) {
    ::close(fd);
    Fail(code::kBadFile, path_ + ": " + std::to_string(size_) + " bytes, too short for the 8-byte header length");
  }
  void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int mapError = errno;
  ::close(fd);  // the mapping keeps the file open
  if (mapped == MAP_FAILED) Fail(code::kBadFile, path_ + ": cannot map (" + std::strerror(mapError) + ")");
  bytes_ = static_cast<const uint8_t*>(mapped);
  try {
    ParseHeader();
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(bytes_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() { ::munmap(const_cast<uint8_t*>(bytes_), size_); }

void SafetensorsFile::Bad(const std::string& problem) const { Fail(code::kBadFile, path_ + ": " + problem); }

void SafetensorsFile::ParseHeader() {
  uint64_t headerLength = 0;
  std::memcpy(&headerLength, bytes_, 8);  // the format is little-endian, as are the hosts we build for
  if (headerLength > kMaxHeaderBytes) {
    Bad("header length " + std::to_string(headerLength) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  }
  if (headerLength > size_ - 8) {
    Bad("header length " + std::to_string(headerLength) + " runs past the end of the file (" + std::to_string(size_) +
        " bytes)");
  }
  dataStart_ = 8 + headerLength;
  const uint64_t dataSize = size_ - dataStart_;
  const nlohmann::json header = ParseJson(std::string_view(reinterpret_cast<const char*>(bytes_) + 8, headerLength),
                                          path_ + " (header)", kMaxHeaderDepth);
  if (!header.is_object()) Bad("header is not a JSON object");

  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (value.is_null()) continue;  // the Python library accepts a null metadata
      if (!value.is_object()) Bad("__metadata__ is not an object of strings");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) Bad("__metadata__[" + Quoted(key) + "] is not a string");
        metadata_.emplace(key, text.get<std::string>());
      }
      continue;
    }
    const std::string tensor = "tensor " + Quoted(name);
    if (!value.is_object()) Bad(tensor + " is not an object");
    const auto field = [&](const char* key) -> const nlohmann::json& {
      const auto found = value.find(key);
      if (found == value.end()) Bad(tensor + " has no '" + key + "'");
      return *found;
    };
    SafetensorsEntry entry;
    entry.name = name;

    const nlohmann::json& dtype = field("dtype");
    const std::optional<at::ScalarType> known =
        dtype.is_string() ? DTypeFromName(dtype.get<std::string>()) : std::nullopt;
    if (!known) Bad(tensor + ": dtype is not one of " + KnownDTypeNames());
    entry.dtype = *known;

    const nlohmann::json& shape = field("shape");
    if (!shape.is_array()) Bad(tensor + ": shape is not an array");
    if (shape.size() > kMaxDimensions)
      Bad(tensor + ": shape has more than " + std::to_string(kMaxDimensions) + " dimensions");
    // `extent` (the product with zeros counted as ones) bounds every stride torch will compute.
    uint64_t extent = 1;
    uint64_t elements = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      uint64_t size = 0;
      if (!ReadNonNegative(shape[d], size))
        Bad(tensor + ": shape[" + std::to_string(d) + "] is not a non-negative integer");
      if (__builtin_mul_overflow(extent, std::max<uint64_t>(size, 1), &extent) ||
          extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Bad(tensor + ": shape is too large");
      }
      elements *= size;  // cannot overflow: elements <= extent
      entry.shape.push_back(static_cast<int64_t>(size));
    }

    const nlohmann::json& offsets = field("data_offsets");
    const bool pair = offsets.is_array() && offsets.size() == 2;
    if (!pair || !ReadNonNegative(offsets[0], entry.begin) || !ReadNonNegative(offsets[1], entry.end)) {
      Bad(tensor + ": data_offsets is not [begin, end] of non-negative integers");
    }
    const std::string range = "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
    if (entry.begin > entry.end || entry.end > dataSize) {
      Bad(tensor + ": " + range + " lie outside the data section of " + std::to_string(dataSize) + " bytes");
    }
    const uint64_t itemSize = c10::elementSize(entry.dtype);
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(elements, itemSize, &bytes) || bytes != entry.end - entry.begin) {
      Bad(tensor + ": " + range + " hold " + std::to_string(entry.end - entry.begin) + " bytes but shape " +
          ShapeText(entry.shape) + " of " + dtype.get<std::string>() + " needs " + std::to_string(elements) + " x " +
          std::to_string(itemSize));
    }
    entries_.push_back(std::move(entry));
  }

  // Two tensors sharing bytes would alias once loaded; empty ranges hold nothing and cannot collide.
  std::vector<const SafetensorsEntry*> byOffset;
  for (const auto& entry : entries_) {
    if (entry.begin != entry.end) byOffset.push_back(&entry);
  }
  std::sort(byOffset.begin(), byOffset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    if (byOffset[i]->begin < byOffset[i - 1]->end) {
      Bad("tensors " + Quoted(byOffset[i - 1]->name) + " and " + Quoted(byOffset[i]->name) +
          " overlap in the data section");
    }
  }
  // nlohmann objects iterate in key order, so entries_ is sorted by name already.
}

const SafetensorsEntry* SafetensorsFile::Find(const std::string& name) const {
  const auto found =
      std::lower_bound(entries_.begin(), entries_.end(), name,
                       [](const SafetensorsEntry& entry, const std::string& key) { return entry.name < key; });
  return found != entries_.end() && found->name == name ? &*found : nullptr;
}

at::Tensor SafetensorsFile::Load(const SafetensorsEntry& entry, at::Device device,
                                 std::optional<at::ScalarType> floatDtype) const {
  // Copied through an owned, aligned host tensor: offsets need not be aligned, and the mapping goes away.
  const bool isBool = entry.dtype == at::kBool;
  at::Tensor host = at::empty(entry.shape, at::TensorOptions().dtype(isBool ? at::kByte : entry.dtype));
  if (entry.end > entry.begin) std::memcpy(host.data_ptr(), bytes_ + dataStart_ + entry.begin, entry.end - entry.begin);
  // The file may hold any byte in a BOOL tensor; torch's bool kernels assume 0 or 1.
  if (isBool) host = host.ne(0);
  const at::ScalarType target = floatDtype && at::isFloatingType(entry.dtype) ? *floatDtype : entry.dtype;
  return host.to(device, target);
}

TensorMap ReadSafetensors(const std::string& path, at::Device device, std::optional<at::ScalarType> floatDtype,
                          const TensorProgress& progress) {
  const SafetensorsFile file(path);
  TensorMap tensors;
  const auto& entries = file.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    tensors.emplace(entries[i].name, file.Load(entries[i], device, floatDtype));
    if (progress) progress(i + 1, entries.size());
  }
  return tensors;
}

void WriteSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata,
                      const TensorProgress& progress) {
  struct Item {
    const std::string* name;
    const at::Tensor* tensor;
    const char* dtype;
  };
  std::vector<Item> items;
  for (const auto& [name, tensor] : tensors) {
    const std::string label = "tensor " + Quoted(name);
    if (name == kMetadataKey) Fail(code::kInvalidArgument, "a tensor may not be named __metadata__");
    if (!tensor.defined() || tensor.layout() != at::kStrided) {
      Fail(code::kInvalidArgument, label + " is not a dense tensor");
    }
    const char* dtype = NameOfDType(tensor.scalar_type());
    if (dtype == nullptr) {
      Fail(code::kInvalidArgument,
           label + " has dtype " + c10::toString(tensor.scalar_type()) + ", which safetensors cannot hold");
    }
    items.push_back({&name, &tensor, dtype});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    const size_t aSize = a.tensor->element_size();
    const size_t bSize = b.tensor->element_size();
    return aSize != bSize ? aSize > bSize : *a.name < *b.name;
  });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const Item& item : items) {
    const uint64_t bytes = TensorBytes(*item.tensor);
    header[*item.name] = {
        {"dtype", item.dtype}, {"shape", item.tensor->sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& error) {
    Fail(code::kInvalidArgument, path + ": a tensor name or metadata string is not valid UTF-8 (" + error.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t headerLength = text.size();

  AtomicFile file(path);
  file.Write(&headerLength, sizeof headerLength);
  file.Write(text.data(), text.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const at::Tensor host = items[i].tensor->to(at::kCPU).contiguous();
    file.Write(host.data_ptr(), TensorBytes(host));
    if (progress) progress(i + 1, items.size());
  }
  file.Commit();
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir) {
  const std::string single = JoinPath(dir, kSingleFileName);
  const std::string index = JoinPath(dir, kIndexFileName);
  if (FileExists(single)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single));
    for (const auto& entry : files_.back()->entries()) {
      entries_.push_back(&entry);
      fileOf_.emplace(&entry, files_.back().get());
    }
    return;
  }
  if (!FileExists(index)) {
    Fail(code::kBadFile, dir + ": holds neither " + kSingleFileName + " nor " + kIndexFileName);
  }
  const nlohmann::json json = ReadJsonFile(index, 8);
  const auto weightMap = json.is_object() ? json.find("weight_map") : json.end();
  if (!json.is_object() || weightMap == json.end() || !weightMap->is_object()) {
    Fail(code::kBadFile, index + ": has no \"weight_map\" object");
  }
  std::map<std::string, std::vector<std::string>> namesByFile;
  for (const auto& [name, file] : weightMap->items()) {
    if (!file.is_string() || !IsPlainFileName(file.get<std::string>())) {
      Fail(code::kBadFile, index + ": weight_map[" + Quoted(name) + "] is not the name of a file beside the index");
    }
    namesByFile[file.get<std::string>()].push_back(name);
  }
  for (const auto& [fileName, names] : namesByFile) {
    files_.push_back(std::make_unique<SafetensorsFile>(JoinPath(dir, fileName)));
    const SafetensorsFile& file = *files_.back();
    for (const auto& name : names) {
      const SafetensorsEntry* entry = file.Find(name);
      if (entry == nullptr) {
        Fail(code::kBadFile,
             index + ": weight_map puts " + Quoted(name) + " in " + fileName + ", which does not hold it");
      }
      entries_.push_back(entry);
      fileOf_.emplace(entry, &file);
    }
  }
  std::sort(entries_.begin(), entries_.end(), [](auto* a, auto* b) { return a->name < b->name; });
}

const std::string& SafetensorsCheckpoint::FileOf(const SafetensorsEntry& entry) const {
  return fileOf_.at(&entry)->path();
}

at::Tensor SafetensorsCheckpoint::Load(const SafetensorsEntry& entry, at::Device device,
                                       std::optional<at::ScalarType> floatDtype) const {
  return fileOf_.at(&entry)->Load(entry, device, floatDtype);
}

void WriteSafetensorsCheckpoint(const std::string& dir, const TensorMap& tensors, const Metadata& metadata,
                                uint64_t shardBytes, const TensorProgress& progress) {
  const std::string single = JoinPath(dir, kSingleFileName);
  const std::string index = JoinPath(dir, kIndexFileName);
  std::vector<const std::string*> names;
  uint64_t totalBytes = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) Fail(code::kInvalidArgument, "tensor " + Quoted(name) + " is not a dense tensor");
    names.push_back(&name);
    totalBytes += TensorBytes(tensor);
  }
  if (shardBytes == 0 || totalBytes <= shardBytes) {
    WriteSafetensors(single, tensors, metadata, progress);
    if (FileExists(index)) ::unlink(index.c_str());
    return;
  }

  std::sort(names.begin(), names.end(),
            [](auto* a, auto* b) { return NaturalLess(*a, *b) || (!NaturalLess(*b, *a) && *a < *b); });
  std::vector<TensorMap> shards(1);
  uint64_t shardSize = 0;
  for (const std::string* name : names) {
    const at::Tensor& tensor = tensors.at(*name);
    const uint64_t bytes = TensorBytes(tensor);
    if (!shards.back().empty() && shardSize + bytes > shardBytes) {
      shards.emplace_back();
      shardSize = 0;
    }
    shards.back().emplace(*name, tensor);
    shardSize += bytes;
  }

  nlohmann::json weightMap = nlohmann::json::object();
  size_t written = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    char fileName[64];
    std::snprintf(fileName, sizeof fileName, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    const size_t before = written;
    WriteSafetensors(JoinPath(dir, fileName), shards[i], metadata, [&](size_t done, size_t) {
      written = before + done;
      if (progress) progress(written, tensors.size());
    });
    for (const auto& [name, tensor] : shards[i]) weightMap[name] = fileName;
  }
  const nlohmann::json indexJson = {{"metadata", {{"total_size", totalBytes}}}, {"weight_map", weightMap}};
  WriteFileAtomically(index, indexJson.dump(2) + "\n");
  if (FileExists(single)) ::unlink(single.c_str());
}

}  // namespace genius::model
