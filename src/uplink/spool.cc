#include "mimamori/uplink/spool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zlib.h>
#ifdef _WIN32
#include <io.h>
#include <windows.h>
#else
#include <sys/uio.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mimamori/core/hash.h"

namespace mimamori::uplink {
namespace {

using core::make_error;
using core::Status;
namespace fs = std::filesystem;

// Record header: magic, type, payload length, seq, crc32 over [type..seq] and the payload.
constexpr uint32_t kMagic = 0x5053'4D4Du;  // "MMSP" little-endian
constexpr std::size_t kHeader = 24;
constexpr uint32_t kTypeEvent = 1;
constexpr uint32_t kTypeCommit = 2;
constexpr uint32_t kMaxPayload = 64u << 20;  // anything larger is corruption
// The layout of segments and state. A version that changes it raises the number; an older one
// then refuses the folder instead of cutting records it cannot read as damage (a downgrade
// would otherwise lose every unsent event). A state file without the line is format 1.
constexpr uint32_t kFormat = 1;

void put32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t record_crc(const char* header, std::string_view payload) {
  uLong c = crc32(0L, reinterpret_cast<const Bytef*>(header + 4), 16);
  return static_cast<uint32_t>(
      crc32(c, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
}

void encode(std::string& out, uint32_t type, uint64_t seq, std::string_view payload) {
  std::size_t at = out.size();
  put32(out, kMagic);
  put32(out, type);
  put32(out, static_cast<uint32_t>(payload.size()));
  put64(out, seq);
  put32(out, 0);
  uint32_t crc = record_crc(out.data() + at, payload);
  std::memcpy(out.data() + at + 20, &crc, 4);
  out.append(payload);
}

std::string errno_text() { return std::strerror(errno); }

// The few file calls the spool makes, on POSIX and on Windows (the same on-disk format: binary
// files, paths as the platform's own, no text-mode translation).
namespace sys {
#ifdef _WIN32
int open(const fs::path& p, int flags) {
  return ::_wopen(p.c_str(), flags | _O_BINARY | _O_NOINHERIT, _S_IREAD | _S_IWRITE);
}
long long write(int fd, const char* data, std::size_t size) {
  return ::_write(fd, data, static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30)));
}
long long pread(int fd, char* data, std::size_t size, uint64_t offset) {
  if (::_lseeki64(fd, static_cast<long long>(offset), SEEK_SET) < 0) return -1;
  return ::_read(fd, data, static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30)));
}
int close(int fd) { return ::_close(fd); }
int fsync(int fd) { return ::_commit(fd); }
int ftruncate(int fd, uint64_t size) {
  return ::_chsize_s(fd, static_cast<long long>(size)) == 0 ? 0 : -1;
}
uint64_t file_size(int fd) {
  struct _stati64 st {};
  ::_fstati64(fd, &st);
  return static_cast<uint64_t>(st.st_size);
}
int truncate(const fs::path& p, uint64_t size) {
  int fd = open(p, _O_WRONLY);
  if (fd < 0) return -1;
  int rc = ftruncate(fd, size);
  ::_close(fd);
  return rc;
}
// rename() on Windows refuses an existing target: replace it, as POSIX rename does.
int rename(const fs::path& from, const fs::path& to) {
  if (MoveFileExW(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    return 0;
  errno = EACCES;
  return -1;
}
#else
int open(const fs::path& p, int flags) { return ::open(p.c_str(), flags | O_CLOEXEC, 0600); }
long long write(int fd, const char* data, std::size_t size) { return ::write(fd, data, size); }
long long pread(int fd, char* data, std::size_t size, uint64_t offset) {
  return ::pread(fd, data, size, static_cast<off_t>(offset));
}
int close(int fd) { return ::close(fd); }
int fsync(int fd) { return ::fsync(fd); }
int ftruncate(int fd, uint64_t size) { return ::ftruncate(fd, static_cast<off_t>(size)); }
uint64_t file_size(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return static_cast<uint64_t>(st.st_size);
}
int truncate(const fs::path& p, uint64_t size) {
  return ::truncate(p.c_str(), static_cast<off_t>(size));
}
int rename(const fs::path& from, const fs::path& to) { return ::rename(from.c_str(), to.c_str()); }
#endif
}  // namespace sys

Status fsync_dir(const fs::path& dir) {
#ifdef _WIN32
  // NTFS journals directory entries itself; Windows has no call to flush a directory.
  (void)dir;
  return {};
#else
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error("spool: cannot open directory '{}': {}", dir.string(), errno_text());
  int rc = ::fsync(fd);
  sys::close(fd);
  if (rc != 0) return make_error("spool: fsync of '{}' failed: {}", dir.string(), errno_text());
  return {};
#endif
}

Status write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    long long n = sys::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("spool: write to '{}' failed: {}", path.string(), errno_text());
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Status read_exact(int fd, char* data, std::size_t size, uint64_t offset, const fs::path& path) {
  while (size > 0) {
    long long n = sys::pread(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("spool: read of '{}' failed: {}", path.string(), errno_text());
    }
    if (n == 0) return make_error("spool: '{}' is shorter than expected", path.string());
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

std::string segment_name(uint64_t number) { return fmt::format("seg-{:020}.log", number); }

// Commit payload: next_seq, then the checkpoints as (u32 length, bytes) pairs.
std::string encode_commit(uint64_t next_seq,
                          const std::map<std::string, std::string, std::less<>>& cps) {
  std::string out;
  put64(out, next_seq);
  for (const auto& [k, v] : cps) {
    put32(out, static_cast<uint32_t>(k.size()));
    out += k;
    put32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  return out;
}

bool decode_commit(std::string_view p, uint64_t& next_seq,
                   std::map<std::string, std::string, std::less<>>& cps) {
  if (p.size() < 8) return false;
  next_seq = get64(p.data());
  p.remove_prefix(8);
  std::map<std::string, std::string, std::less<>> out;
  while (!p.empty()) {
    std::string parts[2];
    for (auto& part : parts) {
      if (p.size() < 4) return false;
      uint32_t n = get32(p.data());
      p.remove_prefix(4);
      if (p.size() < n) return false;
      part.assign(p.substr(0, n));
      p.remove_prefix(n);
    }
    out[parts[0]] = parts[1];
  }
  cps = std::move(out);
  return true;
}

}  // namespace

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}

Spool::~Spool() {
  if (active_fd_ >= 0) sys::close(active_fd_);
}

core::Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options) {
  if (options.dir.empty()) return make_error("spool: no directory given");
  SpoolOptions opts = options;
  if (opts.max_bytes < (64u << 10)) opts.max_bytes = 64u << 10;
  // At least four segments fit in the bound, so dropping one never empties the spool.
  opts.segment_bytes = std::clamp<uint64_t>(opts.segment_bytes, 4096, opts.max_bytes / 4);
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) return make_error("spool: cannot create '{}': {}", opts.dir.string(), ec.message());
#ifndef _WIN32
  ::chmod(opts.dir.c_str(), 0700);  // on Windows, the folder's ACL (ProgramData) protects it
#endif
  std::unique_ptr<Spool> spool(new Spool(std::move(opts)));
  if (auto st = spool->recover(); !st) return std::move(st).error();
  return spool;
}

Status Spool::recover() {
  try {
    return recover_files();
  } catch (const std::exception& e) {  // stoull/stoi on a damaged name or state line
    return make_error("spool: '{}' holds a damaged file name or state: {}", options_.dir.string(),
                      e.what());
  }
}

Status Spool::recover_files() {
  // 1. The state file: counters and checkpoints that outlive deleted segments.
  fs::path state = options_.dir / "state";
  if (std::ifstream in(state); in) {
    std::string key;
    while (in >> key) {
      if (key == "format") {
        uint32_t format = 0;
        in >> format;
        if (in && format > kFormat) {
          return make_error(
              "spool: '{}' is in spool format {}, written by a newer version of this program; "
              "this version reads format {} at most. Install the newer version again (its "
              "unsent events are kept), or move the folder away to start an empty spool",
              options_.dir.string(), format, kFormat);
        }
      } else if (key == "next_seq") {
        in >> next_seq_;
      } else if (key == "acked_through") {
        in >> acked_through_;
      } else if (key == "dropped_through") {
        in >> dropped_through_;
      } else if (key == "dropped") {
        in >> dropped_;
      } else if (key == "checkpoint") {
        std::string k, v;
        in >> k >> v;
        auto unhex = [](const std::string& h) {
          std::string out;
          for (std::size_t i = 0; i + 1 < h.size(); i += 2)
            out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
          return out;
        };
        if (k != "-") checkpoints_[unhex(k)] = v == "-" ? "" : unhex(v);
      } else {
        std::string rest;
        std::getline(in, rest);
      }
      if (!in) return make_error("spool: '{}' is damaged near '{}'", state.string(), key);
    }
  }
  // 2. Segments, oldest first.
  std::vector<std::pair<uint64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(options_.dir)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 28 && name.starts_with("seg-") && name.ends_with(".log") &&
        name.find_first_not_of("0123456789", 4) == 24) {
      found.emplace_back(std::stoull(name.substr(4, 20)), entry.path());
    } else if (name.ends_with(".tmp")) {
      fs::remove(entry.path());  // a state file whose rename never happened
    }
  }
  std::sort(found.begin(), found.end());
  segments_.clear();
  for (std::size_t i = 0; i < found.size(); ++i) {
    Segment seg;
    seg.path = found[i].second;
    if (auto st = scan_segment(seg, i + 1 == found.size()); !st) return st;
    segments_.push_back(std::move(seg));
  }
  committed_through_ = std::max(acked_through_, dropped_through_);
  for (const auto& seg : segments_) {
    if (seg.events) committed_through_ = std::max(committed_through_, seg.last_seq);
  }
  next_seq_ = std::max(next_seq_, committed_through_ + 1);
  // Persist what was learnt before deleting anything it was learnt from.
  if (auto st = write_state(); !st) return st;
  if (auto st = delete_acked_locked(); !st) return st;
  cursor_seq_ = 0;
  return open_active();
}

Status Spool::scan_segment(Segment& seg, bool is_last) {
  int fd = sys::open(seg.path, O_RDONLY);
  if (fd < 0) return make_error("spool: cannot open '{}': {}", seg.path.string(), errno_text());
  uint64_t file_size = sys::file_size(fd);
  uint64_t offset = 0, committed = 0;
  uint64_t first = 0, last = 0, events = 0;        // tentative, since the last commit
  uint64_t c_first = 0, c_last = 0, c_events = 0;  // as of the last commit
  std::string why;
  char header[kHeader];
  std::string payload;
  while (offset < file_size) {
    if (file_size - offset < kHeader) {
      why = "a torn record header";
      break;
    }
    if (!read_exact(fd, header, kHeader, offset, seg.path)) {
      why = "a read error";
      break;
    }
    uint32_t len = get32(header + 8), type = get32(header + 4);
    if (get32(header) != kMagic || len > kMaxPayload ||
        (type != kTypeEvent && type != kTypeCommit)) {
      why = "a damaged record header";
      break;
    }
    if (file_size - offset - kHeader < len) {
      why = "a torn record";
      break;
    }
    payload.resize(len);
    if (len && !read_exact(fd, payload.data(), len, offset + kHeader, seg.path)) {
      why = "a read error";
      break;
    }
    if (record_crc(header, payload) != get32(header + 20)) {
      why = "a record whose CRC does not match";
      break;
    }
    offset += kHeader + len;
    uint64_t seq = get64(header + 12);
    if (type == kTypeEvent) {
      if (!first) first = seq;
      last = seq;
      ++events;
    } else {
      uint64_t ns = 0;
      std::map<std::string, std::string, std::less<>> cps;
      if (!decode_commit(payload, ns, cps)) {
        why = "a damaged commit record";
        offset -= kHeader + len;
        break;
      }
      next_seq_ = std::max(next_seq_, ns);
      for (auto& [k, v] : cps) checkpoints_[k] = v;
      committed = offset;
      c_first = first;
      c_last = last;
      c_events = events;
    }
  }
  sys::close(fd);
  if (committed < file_size) {
    uint64_t cut = file_size - committed;
    if (why.empty()) why = "records of a batch that was never committed";
    spdlog::warn("spool: '{}': cutting {} bytes at offset {}: {}{}", seg.path.string(), cut,
                 committed, why, is_last ? "" : " (not the newest segment: disk damage?)");
    if (sys::truncate(seg.path, committed) != 0)
      return make_error("spool: cannot cut '{}' at {}: {}", seg.path.string(), committed,
                        errno_text());
    cut_bytes_ += cut;
  }
  seg.size = committed;
  seg.first_seq = c_first;
  seg.last_seq = c_last;
  seg.events = c_events;
  return {};
}

Status Spool::open_active() {
  if (active_fd_ >= 0) {
    sys::close(active_fd_);
    active_fd_ = -1;
  }
  bool fresh = segments_.empty() || segments_.back().size >= options_.segment_bytes;
  if (fresh) {
    uint64_t number = 1;
    if (!segments_.empty()) {
      number = std::stoull(segments_.back().path.filename().string().substr(4, 20)) + 1;
    }
    Segment seg;
    seg.path = options_.dir / segment_name(number);
    segments_.push_back(seg);
  }
  const fs::path& path = segments_.back().path;
  active_fd_ = sys::open(path, O_WRONLY | O_CREAT | O_APPEND);
  if (active_fd_ < 0) return make_error("spool: cannot open '{}': {}", path.string(), errno_text());
  if (fresh && options_.fsync == FsyncPolicy::kPerCommit) return fsync_dir(options_.dir);
  return {};
}

Status Spool::write_state() {
  std::ostringstream out;
  out << "format " << kFormat << "\nnext_seq " << next_seq_ << "\nacked_through " << acked_through_
      << "\ndropped_through " << dropped_through_ << "\ndropped " << dropped_ << "\n";
  for (const auto& [k, v] : checkpoints_) {
    out << "checkpoint " << (k.empty() ? "-" : core::to_hex(k)) << " "
        << (v.empty() ? "-" : core::to_hex(v)) << "\n";
  }
  std::string text = out.str();
  fs::path tmp = options_.dir / "state.tmp", dst = options_.dir / "state";
  int fd = sys::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (fd < 0) return make_error("spool: cannot write '{}': {}", tmp.string(), errno_text());
  Status st = write_all(fd, text.data(), text.size(), tmp);
  if (st && options_.fsync == FsyncPolicy::kPerCommit && sys::fsync(fd) != 0)
    st = make_error("spool: fsync of '{}' failed: {}", tmp.string(), errno_text());
  sys::close(fd);
  if (!st) return st;
  if (sys::rename(tmp, dst) != 0)
    return make_error("spool: cannot rename '{}': {}", tmp.string(), errno_text());
  if (options_.fsync == FsyncPolicy::kPerCommit) return fsync_dir(options_.dir);
  return {};
}

uint64_t Spool::append(std::string_view payload) {
  std::lock_guard lock(mu_);
  uint64_t seq = next_seq_++;
  if (pending_count_ == 0) pending_first_ = seq;
  ++pending_count_;
  encode(pending_, kTypeEvent, seq, payload);
  return seq;
}

Status Spool::commit(const std::map<std::string, std::string>& checkpoints) {
  std::lock_guard lock(mu_);
  bool changed = false;
  for (const auto& [k, v] : checkpoints) {
    auto it = checkpoints_.find(k);
    if (it == checkpoints_.end() || it->second != v) changed = true;
  }
  if (pending_count_ == 0 && !changed) return {};
  if (segments_.back().size >= options_.segment_bytes) {
    if (auto st = open_active(); !st) return st;
  }
  auto merged = checkpoints_;
  for (const auto& [k, v] : checkpoints) merged[k] = v;
  std::string commit_rec;
  encode(commit_rec, kTypeCommit, 0, encode_commit(next_seq_, merged));
  Segment& seg = segments_.back();
  std::size_t total = pending_.size() + commit_rec.size();
#ifdef _WIN32
  pending_ += commit_rec;  // one write; taken back below if it fails
  long long n = sys::write(active_fd_, pending_.data(), total);
  pending_.resize(total - commit_rec.size());
#else
  iovec iov[2] = {{pending_.data(), pending_.size()}, {commit_rec.data(), commit_rec.size()}};
  ssize_t n = ::writev(active_fd_, iov, 2);
#endif
  Status st;
  if (n < 0) {
    st = make_error("spool: write to '{}' failed: {}", seg.path.string(), errno_text());
  } else if (static_cast<std::size_t>(n) < total) {
    // Short write (disk full?): finish it, or cut back to the last commit below.
    std::string rest = pending_ + commit_rec;
    st = write_all(active_fd_, rest.data() + n, total - static_cast<std::size_t>(n), seg.path);
  }
  if (st && options_.fsync == FsyncPolicy::kPerCommit &&
#ifdef _WIN32
      sys::fsync(active_fd_) != 0)
#else
      ::fdatasync(active_fd_) != 0)
#endif
    st = make_error("spool: fsync of '{}' failed: {}", seg.path.string(), errno_text());
  if (!st) {
    // Keep the batch pending (it is retried at the next commit) and the file at its last commit.
    if (sys::ftruncate(active_fd_, seg.size) != 0)
      spdlog::error("spool: cannot cut '{}' back to {}: {}", seg.path.string(), seg.size,
                    errno_text());
    return st;
  }
  seg.size += total;
  if (pending_count_) {
    if (!seg.first_seq) seg.first_seq = pending_first_;
    seg.last_seq = pending_first_ + pending_count_ - 1;
    seg.events += pending_count_;
    committed_through_ = seg.last_seq;
  }
  checkpoints_ = std::move(merged);
  pending_.clear();
  pending_count_ = 0;
  uint64_t total_bytes = 0;
  for (const auto& s : segments_) total_bytes += s.size;
  if (total_bytes > options_.max_bytes) {
    while (total_bytes > options_.max_bytes && segments_.size() > 1) {
      total_bytes -= segments_.front().size;
      drop_oldest_locked();
    }
    if (auto ws = write_state(); !ws) return ws;
    std::error_code ec;
    // The dropped segments are unlinked only after the state names them dropped.
    for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
      std::string name = entry.path().filename().string();
      if (!name.starts_with("seg-")) continue;
      bool live = std::any_of(segments_.begin(), segments_.end(),
                              [&](const Segment& s) { return s.path == entry.path(); });
      if (!live) fs::remove(entry.path(), ec);
    }
  }
  return {};
}

void Spool::count_lost(uint64_t n) {
  std::lock_guard lock(mu_);
  dropped_ += n;
}

void Spool::drop_oldest_locked() {
  const Segment& seg = segments_.front();
  uint64_t done = std::max(acked_through_, dropped_through_);
  if (seg.events && seg.last_seq > done) {
    uint64_t from = std::max(seg.first_seq, done + 1);
    uint64_t n = seg.last_seq - from + 1;
    dropped_ += n;
    spdlog::warn("spool: full ({} bytes): dropped {} unsent records (seq {}..{})",
                 options_.max_bytes, n, from, seg.last_seq);
  }
  if (seg.events) dropped_through_ = std::max(dropped_through_, seg.last_seq);
  segments_.erase(segments_.begin());
  cursor_seq_ = 0;
}

std::string Spool::checkpoint(std::string_view source) const {
  std::lock_guard lock(mu_);
  auto it = checkpoints_.find(source);
  return it == checkpoints_.end() ? std::string() : it->second;
}

Status Spool::read(uint64_t after_seq, std::size_t max_records, std::size_t max_bytes,
                   std::vector<SpoolRecord>& out) {
  std::lock_guard lock(mu_);
  out.clear();
  uint64_t want = std::max({after_seq, acked_through_, dropped_through_}) + 1;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < segments_.size() && out.size() < max_records && bytes < max_bytes;
       ++i) {
    const Segment& seg = segments_[i];
    if (!seg.events || seg.last_seq < want) continue;
    uint64_t offset = 0;
    if (cursor_seq_ && cursor_seq_ + 1 == want && cursor_segment_ == i) offset = cursor_offset_;
    int fd = sys::open(seg.path, O_RDONLY);
    if (fd < 0) return make_error("spool: cannot open '{}': {}", seg.path.string(), errno_text());
    char header[kHeader];
    Status st;
    while (offset < seg.size && out.size() < max_records && bytes < max_bytes) {
      if (st = read_exact(fd, header, kHeader, offset, seg.path); !st) break;
      uint32_t len = get32(header + 8), type = get32(header + 4);
      uint64_t seq = get64(header + 12);
      if (get32(header) != kMagic || len > kMaxPayload) {
        st = make_error("spool: '{}' damaged at offset {} after recovery", seg.path.string(),
                        offset);
        break;
      }
      if (type == kTypeEvent && seq >= want) {
        SpoolRecord rec;
        rec.seq = seq;
        rec.payload.resize(len);
        if (st = read_exact(fd, rec.payload.data(), len, offset + kHeader, seg.path); !st) break;
        if (record_crc(header, rec.payload) != get32(header + 20)) {
          st = make_error("spool: '{}' record seq {} at offset {} fails its CRC", seg.path.string(),
                          seq, offset);
          break;
        }
        bytes += len;
        out.push_back(std::move(rec));
        want = seq + 1;
        cursor_segment_ = i;
        cursor_seq_ = seq;
        cursor_offset_ = offset + kHeader + len;
      }
      offset += kHeader + len;
    }
    sys::close(fd);
    if (!st) return st;
  }
  return {};
}

Status Spool::delete_acked_locked() {
  uint64_t done = std::max(acked_through_, dropped_through_);
  bool removed = false;
  // Never the newest segment: it is (or becomes) the active one.
  while (segments_.size() > 1) {
    const Segment& seg = segments_.front();
    if (seg.events && seg.last_seq > done) break;
    std::error_code ec;
    fs::remove(seg.path, ec);
    if (ec) return make_error("spool: cannot delete '{}': {}", seg.path.string(), ec.message());
    segments_.erase(segments_.begin());
    removed = true;
  }
  if (removed) cursor_seq_ = 0;
  return {};
}

Status Spool::ack_through(uint64_t seq) {
  std::lock_guard lock(mu_);
  seq = std::min(seq, committed_through_);
  if (seq <= acked_through_) return {};
  acked_through_ = seq;
  // The state is written on every acknowledgement (so a restart does not resend acknowledged
  // batches) and before fully acknowledged sealed segments go, so that the checkpoints they
  // carried are not lost.
  if (auto st = write_state(); !st) return st;
  return delete_acked_locked();
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s;
  s.segments = segments_.size();
  for (const auto& seg : segments_) s.bytes += seg.size;
  s.committed_through = committed_through_;
  uint64_t done = std::max(acked_through_, dropped_through_);
  s.depth = s.committed_through > done ? s.committed_through - done : 0;
  s.dropped = dropped_;
  s.cut_bytes = cut_bytes_;
  s.next_seq = next_seq_;
  s.acked_through = acked_through_;
  return s;
}

}  // namespace mimamori::uplink
