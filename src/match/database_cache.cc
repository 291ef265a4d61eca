#include "mimamori/match/database_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "mimamori/core/hash.h"
#include "mimamori/core/log.h"

namespace mimamori::match {

namespace fs = std::filesystem;

// The few file calls of the cache, by path: POSIX, or the C runtime's wide-character ones on
// Windows (paths are UTF-16 there), where a rename over an existing file must ask for it.
#ifdef _WIN32
}  // namespace mimamori::match
#include <io.h>
#include <windows.h>
namespace mimamori::match {
namespace {
constexpr int O_CLOEXEC = _O_NOINHERIT;
constexpr int O_NONBLOCK = 0;  // no FIFOs to block on; the type is still checked
int open_path(const fs::path& p, int flags, int mode = 0) {
  return ::_wopen(p.c_str(), flags | _O_BINARY, mode);
}
int rename_path(const fs::path& from, const fs::path& to) {
  if (MoveFileExW(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING)) return 0;
  errno = EACCES;
  return -1;
}
int unlink_path(const fs::path& p) { return ::_wunlink(p.c_str()); }
}  // namespace
#else
namespace {
int open_path(const fs::path& p, int flags, int mode = 0) { return ::open(p.c_str(), flags, mode); }
int rename_path(const fs::path& from, const fs::path& to) {
  return ::rename(from.c_str(), to.c_str());
}
int unlink_path(const fs::path& p) { return ::unlink(p.c_str()); }
}  // namespace
#endif

namespace {

// A cache file: this header, then the bytes of PatternSet::serialize(). The header names the
// patterns the database was compiled from (the SHA-256 of their key text, also the file's
// name), so that a file copied or renamed under another name is refused instead of matching
// the wrong patterns; Vectorscan checks its own bytes (a CRC, its version and the platform).
constexpr std::array<char, 8> kMagic = {'M', 'I', 'M', 'A', 'H', 'S', 'D', 'B'};
constexpr uint32_t kFormat = 1;

struct Header {
  std::array<char, 8> magic = kMagic;
  uint32_t format = kFormat;
  uint32_t patterns = 0;
  std::array<uint8_t, 32> key{};
  uint64_t size = 0;  // of the database bytes after the header
};
static_assert(sizeof(Header) == 56, "the header is written as it lies in memory");

// A cache file far larger than any database is not one (and is not read into memory).
constexpr off_t kMaxFile = off_t(1) << 30;

// What the database depends on, written unambiguously (lengths before strings).
std::string key_text(const std::vector<Pattern>& patterns, std::string_view salt) {
  std::string key =
      fmt::format("mimamori-hsdb {}\n{} {}\n{}", kFormat, patterns.size(), salt.size(), salt);
  for (const auto& p : patterns) {
    key += fmt::format("\n{} {:d} {:d} {:d} {} ", p.id, static_cast<int>(p.kind), p.caseless,
                       p.single_match, p.expression.size());
    key += p.expression;
  }
  return key;
}

std::string hex_name(const std::array<uint8_t, 32>& digest) {
  return core::to_hex(
             std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())) +
         ".hsdb";
}

// The bytes of `file`; nullopt when there is no such file; an error when there is one that is
// not a regular file or cannot be read. Opened non-blocking, so a FIFO in its place cannot
// stall the start-up.
core::Result<std::optional<std::string>> read_regular(const fs::path& file) {
  int fd = open_path(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return core::make_error("cannot open: {}", std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return core::make_error("not a regular file");
  }
  if (st.st_size > kMaxFile) {
    ::close(fd);
    return core::make_error("{} bytes, far larger than any database", st.st_size);
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return core::make_error("cannot read: {}", std::strerror(err));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return std::optional<std::string>(std::move(bytes));
}

// The set in a cache file's bytes, or why the file is refused.
core::Result<PatternSet> decode(std::string_view bytes, const std::array<uint8_t, 32>& key,
                                std::size_t patterns) {
  Header h;
  if (bytes.size() < sizeof(h)) return core::make_error("damaged: shorter than its header");
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.magic != kMagic) return core::make_error("not a database cache file");
  if (h.format != kFormat) {
    return core::make_error("written in cache format {}, this build reads {}", h.format, kFormat);
  }
  if (h.key != key || h.patterns != patterns) {
    return core::make_error("foreign: it holds the database of other patterns");
  }
  bytes.remove_prefix(sizeof(h));
  if (h.size != bytes.size()) {
    return core::make_error("damaged: {} database bytes, its header says {}", bytes.size(), h.size);
  }
  auto set = PatternSet::deserialize(bytes, patterns);
  if (!set) return core::make_error("refused by Vectorscan: {}", set.error().message);
  return set;
}

// Writes `bytes` to a new file beside `file` and renames it over `file`.
core::Status write_atomically(const fs::path& file, std::string_view head, std::string_view body) {
  static std::atomic<unsigned> sequence{0};
  fs::path tmp = file;
  tmp += fmt::format(".tmp.{}.{}", ::getpid(), sequence.fetch_add(1));
  int fd = open_path(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return core::make_error("cannot create {}: {}", tmp.string(), std::strerror(errno));
  bool ok = true;
  for (std::string_view part : {head, body}) {
    while (ok && !part.empty()) {
      ssize_t n = ::write(fd, part.data(), part.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;
        break;
      }
      part.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  int err = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  if (ok && rename_path(tmp, file) != 0) ok = false, err = errno;
  if (!ok) {
    unlink_path(tmp);
    return core::make_error("cannot write {}: {}", file.string(),
                            err ? std::strerror(err) : "short write");
  }
  return {};
}

}  // namespace

DatabaseCache::DatabaseCache(fs::path dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)) {}

fs::path DatabaseCache::file_for(const std::vector<Pattern>& patterns,
                                 std::string_view salt) const {
  if (dir_.empty()) return {};
  return dir_ / hex_name(core::sha256(key_text(patterns, salt)));
}

core::Result<PatternSet> DatabaseCache::compile(const std::vector<Pattern>& patterns,
                                                std::string_view salt) {
  if (dir_.empty()) {
    ++misses_;
    return PatternSet::compile(patterns);
  }
  auto key = core::sha256(key_text(patterns, salt));
  fs::path file = dir_ / hex_name(key);
  auto bytes = read_regular(file);
  std::string refusal;
  if (!bytes) {
    refusal = bytes.error().message;
  } else if (*bytes) {
    auto set = decode(**bytes, key, patterns.size());
    if (set) {
      ++hits_;
      return set;
    }
    refusal = set.error().message;
  }
  if (!refusal.empty()) {
    ++refused_;
    spdlog::warn("{} {}: {}; compiling the patterns again", name_, file.string(), refusal);
  }
  ++misses_;
  auto set = PatternSet::compile(patterns);
  if (!set) return set;
  auto body = set->serialize();
  core::Status stored = body ? core::Status{} : core::Status{body.error()};
  if (body) {
    Header h;
    h.patterns = static_cast<uint32_t>(patterns.size());
    h.key = key;
    h.size = body->size();
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
      stored = core::make_error("cannot create {}: {}", dir_.string(), ec.message());
    } else {
      stored = write_atomically(
          file, std::string_view(reinterpret_cast<const char*>(&h), sizeof(h)), *body);
    }
  }
  if (!stored && !write_failed_) {
    write_failed_ = true;
    spdlog::warn("{}: {}; databases are compiled but not kept", name_, stored.error().message);
  }
  return set;
}

}  // namespace mimamori::match
