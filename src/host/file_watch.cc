#include "mimamori/host/file_watch.h"

#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "mimamori/core/hash.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

int64_t ns_of(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

std::string read_small(const std::string& path) {
  std::string s = read_small_file(path, 4096);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string hex(std::string_view s) { return s.empty() ? "-" : core::to_hex(s); }
std::string unhex(const std::string& h) {
  if (h == "-") return {};
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

Writer describe_process(int pid) {
  Writer w;
  w.pid = pid;
  std::string base = "/proc/" + std::to_string(pid);
  w.process = read_small(base + "/comm");
  std::error_code ec;
  w.exe = fs::read_symlink(base + "/exe", ec).string();
  std::istringstream st(read_small_file(base + "/status"));
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      w.uid = static_cast<uint32_t>(std::strtoul(line.c_str() + 4, nullptr, 10));
      break;
    }
  }
  return w;
}

bool read_file_state(const std::string& path, FileState& s, uint64_t keep_content_below) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  s = FileState{};
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = ns_of(st.st_mtim);
  s.ctime_ns = ns_of(st.st_ctim);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    s.sha256 = core::sha256_hex("symlink:" + fs::read_symlink(path, ec).string());
    return true;
  }
  if (!S_ISREG(st.st_mode)) return false;
  if (keep_content_below && s.size < keep_content_below) {
    if (::access(path.c_str(), R_OK) != 0) return false;
    s.content = read_small_file(path, keep_content_below);
    s.sha256 = core::sha256_hex(s.content);
    return true;
  }
  auto h = core::sha256_file_hex(path);
  if (!h) return false;
  s.sha256 = *h;
  return true;
}

// ---- WriterTracker ----------------------------------------------------------------------

WriterTracker::~WriterTracker() { stop(); }

core::Status WriterTracker::start(const std::vector<std::string>& dirs) {
  fd_ = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE);
  if (fd_ < 0)
    return core::make_error("fanotify unavailable ({}): who changed a file stays unknown",
                            std::strerror(errno));
  for (const auto& d : dirs) {
    if (::fanotify_mark(fd_, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD,
                        d.c_str()) != 0)
      spdlog::debug("fanotify: cannot mark '{}': {}", d, std::strerror(errno));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { loop(); });
  return {};
}

void WriterTracker::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  fd_ = stop_fd_ = -1;
}

void WriterTracker::loop() {
  alignas(fanotify_event_metadata) char buf[8192];
  while (true) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[1].revents) return;
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) continue;
    auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
    for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
      if (m->fd < 0) continue;
      char link[64], path[4096];
      std::snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
      ssize_t len = ::readlink(link, path, sizeof path - 1);
      ::close(m->fd);
      if (len <= 0) continue;
      Writer w = describe_process(m->pid);
      std::lock_guard lock(mu_);
      if (writers_.size() > 4096) writers_.clear();
      writers_[std::string(path, static_cast<std::size_t>(len))] = {
          w, std::chrono::steady_clock::now()};
    }
  }
}

std::optional<Writer> WriterTracker::writer_of(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = writers_.find(path);
  if (it == writers_.end() ||
      std::chrono::steady_clock::now() - it->second.second > std::chrono::minutes(1))
    return std::nullopt;
  return it->second.first;
}

// ---- FileWatch ---------------------------------------------------------------------------

FileWatch::FileWatch(Options options) : options_(std::move(options)) {}

FileWatch::~FileWatch() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void FileWatch::expand(std::map<std::string, int>& files, std::vector<std::string>& dirs) const {
  std::set<std::string> dir_set;
  std::vector<std::string> roots;
  for (const auto& p : options_.paths) {
    if (p.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      if (::glob(p.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
        for (std::size_t i = 0; i < g.gl_pathc; ++i) roots.emplace_back(g.gl_pathv[i]);
      }
      ::globfree(&g);
      // Watch the fixed part of the pattern, so that new matches are noticed soon.
      std::string fixed = p.substr(0, p.find_first_of("*?["));
      fixed = fixed.substr(0, fixed.rfind('/'));
      if (!fixed.empty() && fs::is_directory(fixed)) dir_set.insert(fixed);
    } else {
      roots.push_back(p);
    }
  }
  std::error_code ec;
  for (const auto& r : roots) {
    auto st = fs::symlink_status(r, ec);
    if (ec || st.type() == fs::file_type::not_found) {
      fs::path parent = fs::path(r).parent_path();
      if (fs::is_directory(parent, ec)) dir_set.insert(parent.string());
      continue;
    }
    if (st.type() != fs::file_type::directory) {
      files.emplace(r, 0);
      dir_set.insert(fs::path(r).parent_path().string());
      continue;
    }
    dir_set.insert(r);
    fs::recursive_directory_iterator it(r, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (it.depth() >= options_.max_depth) it.disable_recursion_pending();
      auto type = it->symlink_status(ec).type();
      if (type == fs::file_type::directory) {
        dir_set.insert(it->path().string());
      } else if (type == fs::file_type::regular || type == fs::file_type::symlink) {
        files.emplace(it->path().string(), 0);
      }
      if (files.size() >= options_.max_files) break;
    }
    ec.clear();
  }
  dirs.assign(dir_set.begin(), dir_set.end());
}

void FileWatch::add_watches(const std::vector<std::string>& dirs) {
  if (inotify_fd_ < 0) return;
  std::set<std::string> have;
  for (const auto& [wd, d] : watch_dirs_) have.insert(d);
  for (const auto& d : dirs) {
    if (have.count(d)) continue;
    int wd = ::inotify_add_watch(inotify_fd_, d.c_str(),
                                 IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                     IN_MOVED_TO | IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF);
    if (wd >= 0) watch_dirs_[wd] = d;
  }
}

std::vector<std::string> FileWatch::directories() const {
  std::vector<std::string> out;
  for (const auto& [wd, d] : watch_dirs_) out.push_back(d);
  return out;
}

core::Status FileWatch::start() {
  loaded_ = load();
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0)
    spdlog::warn("inotify unavailable ({}); changes are found by periodic scans only",
                 std::strerror(errno));
  return {};
}

bool FileWatch::dirty() {
  if (inotify_fd_ < 0) return false;
  alignas(inotify_event) char buf[16384];
  bool any = false;
  while (true) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;
    any = true;
  }
  return any;
}

FileChange FileWatch::diff(FileChange::Kind kind, const std::string& path, const FileState* before,
                           const FileState* after) const {
  FileChange c;
  c.kind = kind;
  c.path = path;
  if (before) c.before = *before;
  if (after) c.after = *after;
  if (after && !after->content.empty()) {
    std::set<std::string_view> old_lines;
    if (before) {
      std::string_view b = before->content;
      while (!b.empty()) {
        auto nl = b.find('\n');
        old_lines.insert(b.substr(0, nl));
        b.remove_prefix(nl == std::string_view::npos ? b.size() : nl + 1);
      }
    }
    std::string_view a = after->content;
    while (!a.empty() && c.added_lines.size() < 10) {
      auto nl = a.find('\n');
      auto line = a.substr(0, nl);
      if (!line.empty() && !old_lines.count(line)) c.added_lines.emplace_back(line.substr(0, 512));
      a.remove_prefix(nl == std::string_view::npos ? a.size() : nl + 1);
    }
  }
  return c;
}

std::vector<FileChange> FileWatch::scan(bool force) {
  std::vector<FileChange> changes;
  bool activity = dirty();
  if (!force && !activity && loaded_) return changes;
  std::map<std::string, int> files;
  std::vector<std::string> dirs;
  expand(files, dirs);
  add_watches(dirs);
  if (files.size() >= options_.max_files) ++overflow_;
  bool first = !loaded_;
  for (const auto& [path, unused] : files) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    auto it = baseline_.find(path);
    if (it != baseline_.end() && it->second.size == static_cast<uint64_t>(st.st_size) &&
        it->second.mtime_ns == ns_of(st.st_mtim) && it->second.ctime_ns == ns_of(st.st_ctim) &&
        it->second.inode == static_cast<uint64_t>(st.st_ino))
      continue;
    FileState now;
    if (first && options_.lazy_baseline) {
      // Metadata only for now; the first verification pass fills in the hashes at its pace.
      now.size = static_cast<uint64_t>(st.st_size);
      now.mtime_ns = ns_of(st.st_mtim);
      now.ctime_ns = ns_of(st.st_ctim);
      now.inode = static_cast<uint64_t>(st.st_ino);
      now.mode = st.st_mode;
      now.uid = st.st_uid;
    } else if (!read_file_state(path, now, options_.keep_content_below)) {
      continue;
    }
    if (it == baseline_.end()) {
      if (!first) changes.push_back(diff(FileChange::Kind::kAdded, path, nullptr, &now));
      baseline_.emplace(path, std::move(now));
    } else {
      if (it->second.sha256 != now.sha256 || it->second.mode != now.mode ||
          it->second.uid != now.uid)
        changes.push_back(diff(FileChange::Kind::kModified, path, &it->second, &now));
      it->second = std::move(now);
    }
  }
  for (auto it = baseline_.begin(); it != baseline_.end();) {
    if (!files.count(it->first)) {
      if (!first)
        changes.push_back(diff(FileChange::Kind::kDeleted, it->first, &it->second, nullptr));
      it = baseline_.erase(it);
    } else {
      ++it;
    }
  }
  loaded_ = true;
  if (first || !changes.empty()) save();
  return changes;
}

void FileWatch::start_verify_pass() {
  if (verifying_) return;
  verifying_ = true;
  verify_cursor_.clear();
  verify_budget_ = 0;
}

std::vector<FileChange> FileWatch::verify_some(std::chrono::milliseconds elapsed) {
  std::vector<FileChange> changes;
  if (!verifying_) return changes;
  verify_budget_ += static_cast<double>(options_.hash_bytes_per_s) * elapsed.count() / 1000.0;
  verify_budget_ = std::min(verify_budget_, static_cast<double>(options_.hash_bytes_per_s));
  auto it = baseline_.upper_bound(verify_cursor_);
  while (verify_budget_ > 0 && !baseline_.empty()) {
    if (it == baseline_.end()) {
      verify_cursor_.clear();
      verifying_ = false;
      spdlog::info("file integrity: verification pass over {} files done", baseline_.size());
      save();  // a completed pass (it may have filled a lazy baseline)
      return changes;
    }
    FileState now;
    verify_budget_ -= static_cast<double>(it->second.size + 4096);
    if (read_file_state(it->first, now, options_.keep_content_below)) {
      if (it->second.sha256.empty()) {
        it->second = std::move(now);  // a lazy baseline entry gets its hash
      } else if (now.sha256 != it->second.sha256) {
        changes.push_back(diff(FileChange::Kind::kModified, it->first, &it->second, &now));
        it->second = std::move(now);
      }
    }
    verify_cursor_ = it->first;
    ++it;
  }
  if (!changes.empty()) save();
  return changes;
}

void FileWatch::save() const {
  if (options_.baseline_file.empty()) return;
  std::error_code ec;
  fs::create_directories(options_.baseline_file.parent_path(), ec);
  std::string tmp = options_.baseline_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [p, s] : baseline_) {
      out << hex(p) << ' ' << s.sha256 << ' ' << s.size << ' ' << s.mtime_ns << ' ' << s.ctime_ns
          << ' ' << s.inode << ' ' << s.mode << ' ' << s.uid << ' ' << hex(s.content) << '\n';
    }
    if (!out) {
      spdlog::warn("cannot write baseline '{}'", tmp);
      return;
    }
  }
  fs::rename(tmp, options_.baseline_file, ec);
}

bool FileWatch::load() {
  if (options_.baseline_file.empty()) return false;
  std::ifstream in(options_.baseline_file);
  if (!in) return false;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::istringstream ls(line);
    std::string p, content;
    FileState s;
    if (!(ls >> p >> s.sha256 >> s.size >> s.mtime_ns >> s.ctime_ns >> s.inode >> s.mode >> s.uid >>
          content)) {
      spdlog::warn("baseline '{}':{}: damaged line skipped", options_.baseline_file.string(), n);
      continue;
    }
    try {
      s.content = unhex(content);
      baseline_[unhex(p)] = std::move(s);
    } catch (const std::exception&) {
      spdlog::warn("baseline '{}':{}: damaged line skipped", options_.baseline_file.string(), n);
    }
  }
  return true;
}

}  // namespace mimamori::host
