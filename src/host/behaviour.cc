#include "mimamori/host/behaviour.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "mimamori/core/hash.h"
#include "mimamori/host/process_chain.h"
#include "mimamori/host/process_memory.h"
#include "mimamori/host/system_watch.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDirMask = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB |
                              FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD | FAN_ONDIR;
constexpr uint64_t kGone = FAN_DELETE | FAN_MOVED_FROM;
constexpr uint64_t kArrived = FAN_CREATE | FAN_MOVED_TO;

// Files a text file of sudoers, group or a configuration is kept in memory below (added lines).
constexpr uint64_t kKeepContent = 1 << 20;

const std::string_view kHistoryNames[] = {".bash_history", ".zsh_history", ".history",
                                          ".sh_history", ".ash_history"};

// A directory's file handle as fanotify reports it: fsid, handle type, handle bytes.
std::string handle_key(const int32_t fsid[2], int type, const unsigned char* bytes, unsigned n) {
  std::string k(reinterpret_cast<const char*>(fsid), 8);
  k.append(reinterpret_cast<const char*>(&type), sizeof type);
  k.append(reinterpret_cast<const char*>(bytes), n);
  return k;
}

std::string dir_key(const std::string& dir) {
  struct statfs sf {};
  if (::statfs(dir.c_str(), &sf) != 0) return {};
  alignas(file_handle) unsigned char buf[sizeof(file_handle) + MAX_HANDLE_SZ];
  auto* fh = reinterpret_cast<file_handle*>(buf);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  // fanotify reports the handle a file system gives for identification (AT_HANDLE_FID), which
  // on overlayfs differs from the one for reopening; older kernels know only the latter.
  constexpr int kHandleFid = 0x200;  // AT_HANDLE_FID, Linux 6.5
  if (::name_to_handle_at(AT_FDCWD, dir.c_str(), fh, &mount_id, kHandleFid) != 0) {
    fh->handle_bytes = MAX_HANDLE_SZ;
    if (::name_to_handle_at(AT_FDCWD, dir.c_str(), fh, &mount_id, 0) != 0) return {};
  }
  int32_t fsid[2];
  std::memcpy(fsid, &sf.f_fsid, sizeof fsid);
  return handle_key(fsid, fh->handle_type, fh->f_handle, fh->handle_bytes);
}

bool skipped_subdir(const std::string& name) {
  return name == ".cache" || name == ".git" || name == "node_modules" || name == ".npm" ||
         name == ".cargo" || name == ".rustup" || name == "proc";
}

bool under_any(const std::string& path, std::initializer_list<std::string_view> roots) {
  for (auto r : roots)
    if (path.rfind(r, 0) == 0) return true;
  return false;
}

// sudo reads the files of sudoers.d whose names have no '.' and do not end in '~'.
bool sudo_reads(const std::string& name) {
  return !name.empty() && name.find('.') == std::string::npos && name.back() != '~';
}

std::string mode_text(uint32_t mode) { return fmt::format("{:o}", mode & 07777); }

std::vector<std::string> added_lines(const std::string& before, const std::string& after) {
  std::set<std::string_view> old;
  std::string_view b = before;
  while (!b.empty()) {
    auto nl = b.find('\n');
    old.insert(b.substr(0, nl));
    b.remove_prefix(nl == std::string_view::npos ? b.size() : nl + 1);
  }
  std::vector<std::string> out;
  std::string_view a = after;
  while (!a.empty() && out.size() < 10) {
    auto nl = a.find('\n');
    auto line = a.substr(0, nl);
    if (!line.empty() && !old.count(line)) out.emplace_back(line.substr(0, 512));
    a.remove_prefix(nl == std::string_view::npos ? a.size() : nl + 1);
  }
  return out;
}

}  // namespace

std::map<std::string, std::set<std::string>> group_members(std::string_view text,
                                                           const std::vector<std::string>& groups) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& g : groups) out[g];
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // name:password:gid:member,member
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto it = out.find(std::string(line.substr(0, c1)));
    if (it == out.end()) continue;
    auto c2 = line.find(':', c1 + 1);
    auto c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos) continue;
    std::string_view members = line.substr(c3 + 1);
    while (!members.empty()) {
      auto comma = members.find(',');
      auto m = members.substr(0, comma);
      while (!m.empty() && (m.back() == ' ' || m.back() == '\r')) m.remove_suffix(1);
      if (!m.empty()) it->second.emplace(m);
      members.remove_prefix(comma == std::string_view::npos ? members.size() : comma + 1);
    }
  }
  return out;
}

std::set<std::string> module_names(std::string_view text) {
  std::set<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto sp = line.find(' ');
    if (sp != 0 && !line.empty()) out.emplace(line.substr(0, sp));
  }
  return out;
}

/// One observed act, before it becomes an alert.
struct Behaviour::Act {
  uint64_t sid = 0;
  std::string signature;
  int severity = 2;
  std::string kind;    // sudoers, admin_group, suid, log, history, agent_config, ...
  std::string path;    // the file
  std::string action;  // written, deleted, renamed, truncated, mode, ...
  int pid = 0;
  const FileState* state = nullptr;
  std::vector<std::string> lines;  // added lines (sudoers)
  std::string group, member;       // admin_group
  uint64_t size_before = 0;        // truncated logs
  bool has_size_before = false;
  std::vector<KnownProcess> lineage;  // filled by emit when empty
};

Behaviour::Behaviour(Options options) : o_(std::move(options)) {}

Behaviour::~Behaviour() { stop(); }

void Behaviour::mark_dir(const std::string& dir, int depth, bool suid, bool fresh,
                         std::deque<std::pair<std::string, int>>* later) {
  std::error_code ec;
  std::string d = fs::weakly_canonical(dir, ec).string();
  if (ec || !fs::is_directory(d, ec)) return;
  if (suid) {
    auto [it, added] = suid_dirs_.emplace(d, depth);
    if (!added && it->second <= depth) return;
    it->second = std::min(it->second, depth);
  }
  std::string key = dir_key(d);
  if (key.empty()) return;
  if (!dirs_.count(key)) {
    if (dirs_.size() >= o_.max_marks) {
      if (marks_over_++ == 0)
        spdlog::warn("behaviour: more than {} folders to watch; '{}' and others left out",
                     o_.max_marks, d);
      return;
    }
    if (::fanotify_mark(fan_fd_, FAN_MARK_ADD, kDirMask, AT_FDCWD, d.c_str()) != 0) {
      spdlog::debug("behaviour: cannot watch '{}': {}", d, std::strerror(errno));
      return;
    }
    dirs_.emplace(key, d);
    dir_keys_[d] = key;
  }
  if (!suid) return;
  // Existing SUID/SGID files are the baseline; subfolders to the configured depth.
  for (const auto& e :
       fs::directory_iterator(d, fs::directory_options::skip_permission_denied, ec)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID))) {
      // In a new folder, a SUID file made before the mark was placed (`mkdir d && cp … d/x &&
      // chmod u+s d/x` is quicker than the event of the mkdir): new, by an unknown process.
      if (fresh)
        queue_suid(e.path().string(), FAN_CREATE, 0);
      else
        suid_[e.path().string()] = {static_cast<uint64_t>(st.st_ino), st.st_mode};
    } else if (S_ISDIR(st.st_mode) && depth < o_.suid_depth &&
               !skipped_subdir(e.path().filename().string())) {
      if (later)
        later->emplace_back(e.path().string(), depth + 1);
      else
        mark_dir(e.path().string(), depth + 1, true, fresh);
    }
  }
}

void Behaviour::mark_file(const std::string& path) {
  // Writes to a log or history: only the file itself, so that a busy folder costs nothing.
  (void)::fanotify_mark(fan_fd_, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, path.c_str());
}

core::Status Behaviour::start(EventSink& sink) {
  sink_ = &sink;
  fan_fd_ = ::fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
                            O_RDONLY | O_LARGEFILE);
  if (fan_fd_ < 0) {
    // The polls (listeners, modules) still work.
    spdlog::warn(
        "behaviour: fanotify with file handles unavailable ({}{}): sudoers, SUID files, log "
        "tampering and the agent's own files are not watched",
        std::strerror(errno), this_host().root ? "; kernel older than 5.9?" : "; it needs root");
    return {};
  }
  std::error_code ec;
  auto parent = [](const std::string& p) { return fs::path(p).parent_path().string(); };
  // Events name files by their canonical folder: compare like with like.
  for (auto* p :
       {&o_.sudoers, &o_.sudoers_dir, &o_.group_file, &o_.self_config, &o_.self_program}) {
    if (p->empty()) continue;
    auto c = fs::weakly_canonical(*p, ec);
    if (!ec) *p = c.string();
  }
  mark_dir(parent(o_.sudoers), 0, false);
  mark_dir(o_.sudoers_dir, 0, false);
  mark_dir(parent(o_.group_file), 0, false);
  for (const auto& h : o_.homes) {
    std::string c = fs::weakly_canonical(h, ec).string();
    if (ec || !fs::is_directory(c, ec)) continue;
    homes_.insert(c);
    mark_dir(c, 0, false);
    for (auto n : kHistoryNames) {
      std::string f = c + "/" + std::string(n);
      struct stat st {};
      if (::stat(f.c_str(), &st) != 0) continue;
      mark_file(f);
      sizes_[f] = static_cast<uint64_t>(st.st_size);
    }
  }
  for (const auto& l : o_.logs) {
    std::string dir = fs::weakly_canonical(parent(l), ec).string();
    if (ec || !fs::is_directory(dir, ec)) continue;
    std::string c = dir + "/" + fs::path(l).filename().string();
    logs_.insert(c);
    mark_dir(dir, 0, false);
    struct stat st {};
    if (::stat(c.c_str(), &st) != 0) continue;
    mark_file(c);
    sizes_[c] = static_cast<uint64_t>(st.st_size);
  }
  // Known contents: sudoers, its folder, group, the agent's own files.
  auto know = [&](const std::string& p) {
    FileState st;
    std::string c = fs::weakly_canonical(p, ec).string();
    if (!c.empty() && read_file_state(c, st, kKeepContent)) files_[c] = std::move(st);
  };
  know(o_.sudoers);
  for (const auto& e : fs::directory_iterator(o_.sudoers_dir, ec)) know(e.path().string());
  know(o_.group_file);
  for (const auto* p : {&o_.self_config, &o_.self_program}) {
    if (p->empty()) continue;
    know(*p);
    mark_dir(parent(*p), 0, false);
  }
  // SUID/SGID folders last and breadth first: when a machine has more folders than the cap
  // (a /tmp full of build trees), the deepest temporary folders are the ones left out, never
  // sudoers, the logs, the homes, the agent's own files or the top of a SUID folder.
  std::deque<std::pair<std::string, int>> pending;
  for (const auto& p : o_.suid_paths) pending.emplace_back(p, 0);
  while (!pending.empty()) {
    auto [dir, depth] = std::move(pending.front());
    pending.pop_front();
    mark_dir(dir, depth, true, false, &pending);
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { loop(); });
  spdlog::info("behaviour: {} folders watched ({} for SUID/SGID files, {} known), {} logs",
               dirs_.size(), suid_dirs_.size(), suid_.size(), logs_.size());
  return {};
}

void Behaviour::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (fan_fd_ >= 0) ::close(fan_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  fan_fd_ = stop_fd_ = -1;
}

void Behaviour::loop() {
  alignas(fanotify_event_metadata) char buf[16384];
  uint64_t overflows = 0;
  while (true) {
    int timeout = -1;
    auto now = Clock::now();
    for (const auto& [path, p] : pending_suid_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.due - now).count();
      int t = static_cast<int>(std::max<int64_t>(ms, 0));
      timeout = timeout < 0 ? t : std::min(timeout, t);
    }
    pollfd p[2] = {{fan_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, timeout) < 0 && errno != EINTR) return;
    if (p[1].revents) return;
    now = Clock::now();
    for (auto it = pending_suid_.begin(); it != pending_suid_.end();) {
      if (it->second.due > now) {
        ++it;
        continue;
      }
      PendingSuid ps = it->second;
      std::string path = it->first;
      it = pending_suid_.erase(it);
      on_suid(path, ps.mask, ps.pid);
    }
    if (!(p[0].revents & POLLIN)) continue;
    ssize_t n = ::read(fan_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    // Events with file handles have lengths that are not multiples of 8: each header is
    // copied out rather than read in place (misaligned).
    std::size_t off = 0;
    const auto total = static_cast<std::size_t>(n);
    while (off + sizeof(fanotify_event_metadata) <= total) {
      fanotify_event_metadata md;
      std::memcpy(&md, buf + off, sizeof md);
      if (md.event_len < sizeof md || off + md.event_len > total) break;
      const fanotify_event_metadata* m = &md;
      const char* base = buf + off;
      off += md.event_len;
      if (m->mask & FAN_Q_OVERFLOW) {
        ++overflows;
        if ((overflows & (overflows - 1)) == 0)
          spdlog::warn("behaviour: file events were lost ({} overflows so far)", overflows);
        continue;
      }
      if (m->fd >= 0) ::close(m->fd);
      const char* p0 = base + m->metadata_len;
      const char* end = base + m->event_len;
      while (p0 + sizeof(fanotify_event_info_header) <= end) {
        fanotify_event_info_header hdr;
        std::memcpy(&hdr, p0, sizeof hdr);
        if (hdr.len == 0 || p0 + hdr.len > end) break;
        if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME &&
            hdr.len > sizeof(fanotify_event_info_fid) + sizeof(file_handle)) {
          int32_t fsid[2];
          std::memcpy(fsid, p0 + offsetof(fanotify_event_info_fid, fsid), sizeof fsid);
          const char* fhp = p0 + offsetof(fanotify_event_info_fid, handle);
          unsigned bytes = 0;
          int type = 0;
          std::memcpy(&bytes, fhp + offsetof(file_handle, handle_bytes), sizeof bytes);
          std::memcpy(&type, fhp + offsetof(file_handle, handle_type), sizeof type);
          const char* hb = fhp + sizeof(file_handle);
          if (hb + bytes < end) {
            auto key = handle_key(fsid, type, reinterpret_cast<const unsigned char*>(hb), bytes);
            std::string name(hb + bytes,
                             strnlen(hb + bytes, static_cast<std::size_t>(end - (hb + bytes))));
            auto d = dirs_.find(key);
            if (d != dirs_.end() && !name.empty() && name != ".")
              on_event(d->second, name, m->mask, m->pid);
          }
        }
        p0 += hdr.len;
      }
    }
  }
}

Behaviour::Role Behaviour::role_of(const std::string& dir, const std::string& name,
                                   const std::string& path) const {
  if (path == o_.self_config) return Role::kSelfConfig;
  if (path == o_.self_program) return Role::kSelfProgram;
  if (path == o_.sudoers) return Role::kSudoers;
  if (dir == o_.sudoers_dir) return sudo_reads(name) ? Role::kSudoers : Role::kNone;
  if (path == o_.group_file) return Role::kGroup;
  if (logs_.count(path)) return Role::kLog;
  if (homes_.count(dir))
    for (auto h : kHistoryNames)
      if (name == h) return Role::kHistory;
  return Role::kNone;
}

void Behaviour::on_event(const std::string& dir, const std::string& name, uint64_t mask, int pid) {
  if (pid == ::getpid()) return;
  std::string path = dir + "/" + name;
  if (mask & FAN_ONDIR) {
    if (mask & kGone) {
      // Forget a folder that went (the kernel drops its mark), so that the bound on marks
      // counts folders that exist; /tmp sees thousands come and go on a build machine.
      auto k = dir_keys_.find(path);
      if (k != dir_keys_.end()) {
        dirs_.erase(k->second);
        dir_keys_.erase(k);
        suid_dirs_.erase(path);
      }
      return;
    }
    // A new folder under a SUID-watched one: watch it too, within the depth.
    auto s = suid_dirs_.find(dir);
    if ((mask & kArrived) && s != suid_dirs_.end() && s->second < o_.suid_depth &&
        !skipped_subdir(name))
      mark_dir(path, s->second + 1, true, true);
    return;
  }
  Role r = role_of(dir, name, path);
  if (r == Role::kLog || r == Role::kHistory)
    on_log(r, path, mask, pid);
  else if (r != Role::kNone)
    on_watched_file(r, path, mask, pid);
  if (suid_dirs_.count(dir)) queue_suid(path, mask, pid);
}

void Behaviour::queue_suid(const std::string& path, uint64_t mask, int pid) {
  struct stat st {};
  bool suid = !(mask & kGone) && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
              (st.st_mode & (S_ISUID | S_ISGID));
  if (!suid) {
    if (suid_.count(path) || pending_suid_.count(path)) on_suid(path, mask, pid);
    pending_suid_.erase(path);
    return;
  }
  // `cp x f && chmod u+s f`: the copy's close may be read after the chmod happened. Wait a
  // moment for a mode change to the same file, whose actor is the one to name.
  auto [it, fresh] = pending_suid_.try_emplace(path);
  auto& p = it->second;
  if (fresh) p.due = Clock::now() + std::chrono::milliseconds(100);
  if (fresh || (mask & FAN_ATTRIB) || !(p.mask & FAN_ATTRIB)) {
    p.pid = pid;
    p.mask = mask;
  }
}

void Behaviour::on_watched_file(Role role, const std::string& path, uint64_t mask, int pid) {
  Act a;
  a.path = path;
  a.pid = pid;
  // A new file is judged when written and closed, not when created empty.
  if ((mask & ~(FAN_CREATE | FAN_ONDIR)) == 0) return;
  auto known = files_.find(path);
  FileState now;
  bool there = !(mask & kGone) && read_file_state(path, now, kKeepContent);
  if (!there) {
    if (!(mask & kGone) || known == files_.end()) return;
    a.action = (mask & FAN_DELETE) ? "deleted" : "renamed";
    files_.erase(known);
  } else {
    if (known != files_.end() && known->second.sha256 == now.sha256 &&
        known->second.mode == now.mode && known->second.uid == now.uid)
      return;  // nothing that matters changed (a touch, a rewrite of the same bytes)
    std::string before = known == files_.end() ? std::string() : known->second.content;
    a.action = known == files_.end()                ? "added"
               : known->second.sha256 == now.sha256 ? "mode"
                                                    : "modified";
    if (role == Role::kSudoers) a.lines = added_lines(before, now.content);
    if (role == Role::kGroup) {
      auto was = group_members(before, o_.admin_groups);
      auto is = group_members(now.content, o_.admin_groups);
      files_[path] = std::move(now);
      for (const auto& [g, members] : is)
        for (const auto& m : members)
          if (!was[g].count(m)) {
            Act g_act = a;
            g_act.sid = behaviour_sid::kAdminGroup;
            g_act.signature = "User added to an administrators group (" + g + ")";
            g_act.severity = 1;
            g_act.kind = "admin_group";
            g_act.group = g;
            g_act.member = m;
            g_act.state = &files_[path];
            emit(g_act);
          }
      return;
    }
    files_[path] = std::move(now);
    a.state = &files_[path];
  }
  switch (role) {
    case Role::kSudoers: {
      bool nopasswd = std::any_of(a.lines.begin(), a.lines.end(), [](const std::string& l) {
        return l.find("NOPASSWD") != std::string::npos;
      });
      a.sid = behaviour_sid::kSudoers;
      a.signature =
          nopasswd ? "sudoers changed: commands allowed without a password" : "sudoers changed";
      a.severity = a.action == "deleted" || a.action == "renamed" ? 3 : nopasswd ? 1 : 2;
      a.kind = "sudoers";
      break;
    }
    case Role::kSelfConfig:
      a.sid = behaviour_sid::kAgentConfig;
      a.signature = "The agent's configuration was changed";
      a.severity = 1;
      a.kind = "agent_config";
      break;
    case Role::kSelfProgram:
      a.sid = behaviour_sid::kAgentProgram;
      a.signature = "The agent's program was changed";
      a.severity = 1;
      a.kind = "agent_program";
      break;
    default:
      return;
  }
  emit(a);
}

void Behaviour::on_log(Role role, const std::string& path, uint64_t mask, int pid) {
  Act a;
  a.path = path;
  a.pid = pid;
  struct stat st {};
  bool there = !(mask & kGone) && ::lstat(path.c_str(), &st) == 0;
  auto known = sizes_.find(path);
  if (mask & kGone) {
    if (known == sizes_.end()) return;
    a.size_before = known->second;
    a.has_size_before = true;
    sizes_.erase(known);
    a.action = (mask & FAN_DELETE) ? "deleted" : "renamed";
  } else if (!there) {
    return;
  } else if (S_ISLNK(st.st_mode)) {
    // `ln -sf /dev/null ~/.bash_history`: the history now goes nowhere.
    if (!(mask & kArrived)) return;
    std::error_code ec;
    a.action = "replaced by a link to " + fs::read_symlink(path, ec).string();
    sizes_.erase(path);
  } else {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (mask & kArrived) mark_file(path);
    if (known == sizes_.end()) {
      sizes_[path] = size;
      return;
    }
    uint64_t before = known->second;
    known->second = size;
    // A log that shrinks was cut; a history only counts when emptied (bash trims it itself).
    bool cut = role == Role::kLog ? size < before : size == 0 && before > 0;
    if (!cut) return;
    a.action = "truncated";
    a.size_before = before;
    a.has_size_before = true;
  }
  a.lineage = process_lineage(pid);
  if (role == Role::kLog) {
    // Log rotation renames, deletes and truncates (copytruncate) logs every day.
    for (auto n : {"logrotate", "savelog"})
      if (lineage_runs(a.lineage, n) ||
          (a.lineage.empty() && recent_process_named({n}, std::chrono::seconds(60))))
        return;
    a.sid = behaviour_sid::kLogTampering;
    a.signature = "Log file " + a.action.substr(0, a.action.find(' ')) + " outside log rotation";
    a.severity = 1;
    a.kind = "log";
  } else {
    a.sid = behaviour_sid::kHistoryCleared;
    a.signature = "Shell history cleared";
    a.severity = 2;
    a.kind = "history";
  }
  emit(a);
}

void Behaviour::on_suid(const std::string& path, uint64_t mask, int pid) {
  if (mask & kGone) {
    suid_.erase(path);
    return;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (!(st.st_mode & (S_ISUID | S_ISGID))) {
    suid_.erase(path);
    return;
  }
  auto it = suid_.find(path);
  std::pair<uint64_t, uint32_t> now{static_cast<uint64_t>(st.st_ino), st.st_mode};
  if (it != suid_.end() && it->second == now) return;
  bool was_suid = it != suid_.end();
  suid_[path] = now;
  FileState fs_state;
  if (!read_file_state(path, fs_state, 0)) {
    fs_state.mode = st.st_mode;
    fs_state.uid = st.st_uid;
    fs_state.size = static_cast<uint64_t>(st.st_size);
  }
  Act a;
  a.sid = behaviour_sid::kSuid;
  bool temp = under_any(path, {"/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/root/"});
  a.signature = std::string((st.st_mode & S_ISUID) ? "SUID" : "SGID") + " file " +
                (was_suid ? "replaced" : "created") +
                (temp ? " in a temporary or home folder" : "");
  a.severity = temp ? 1 : 2;
  a.kind = "suid";
  a.path = path;
  a.action = (mask & FAN_ATTRIB) ? "mode" : (mask & FAN_MOVED_TO) ? "renamed" : "written";
  a.pid = pid;
  a.state = &fs_state;
  emit(a);
}

void Behaviour::emit(const Act& act) {
  std::vector<KnownProcess> lineage = act.lineage;
  // A short-lived actor (chmod, rm) may be gone before its exec event was recorded: the
  // process collector runs on its own thread, which a busy machine may not run for a while, so
  // give it up to 2 s (only an act whose actor is already gone waits; the alert is still well
  // inside the 5 s an act's alert may take).
  for (int i = 0; act.pid > 0 && (lineage.empty() || lineage.front().exe.empty()) && i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lineage = process_lineage(act.pid);
  }
  // An actor that could not be named is not excused by a package manager running elsewhere.
  std::string pm = lineage.empty() ? std::string() : package_manager_at_work(lineage);
  int severity = pm.empty() ? act.severity : std::max(act.severity, 3);
  core::Event e = host_event("behaviour");
  e.fields.begin_object("process").add("pid", act.pid);
  if (!lineage.empty()) {
    const auto& p = lineage.front();
    e.fields.add("ppid", p.ppid)
        .add("uid", p.uid)
        .add("user", p.user)
        .add("exe", p.exe)
        .add("cmdline", p.cmdline);
    if (lineage.size() > 1)
      e.fields.begin_object("parent")
          .add("pid", lineage[1].pid)
          .add("exe", lineage[1].exe)
          .add("cmdline", lineage[1].cmdline)
          .end();
  }
  e.fields.end();
  e.fields.begin_object("file").add("path", act.path).add("action", act.action);
  if (act.state) {
    if (!act.state->sha256.empty()) e.fields.add("sha256", act.state->sha256);
    e.fields.add("size", act.state->size)
        .add("mode", mode_text(act.state->mode))
        .add("uid", act.state->uid);
  }
  if (act.has_size_before) e.fields.add("size_before", act.size_before);
  e.fields.end();
  e.fields.begin_object("behaviour").add("kind", act.kind);
  if (!act.lines.empty()) {
    e.fields.begin_array("added_lines");
    for (const auto& l : act.lines) e.fields.add("", l);
    e.fields.end();
  }
  if (!act.group.empty()) e.fields.add("group", act.group).add("member", act.member);
  if (!pm.empty()) e.fields.add("package_manager", pm);
  e.fields.end();
  make_alert(e, act.sid, act.signature, "Attempted Administrator Privilege Gain", severity);
  sink_->emit(e);
}

// ---- polls: listening services, kernel modules ----

void Behaviour::poll(EventSink& sink) {
  auto now = Clock::now();
  if (now < next_poll_) return;
  next_poll_ = now + o_.poll_interval;
  poll_listeners(sink, !polled_);
  poll_modules(sink, !polled_);
  polled_ = true;
}

void Behaviour::poll_listeners(EventSink& sink, bool first) {
  std::set<std::string> seen;
  for (const auto& s : read_sockets()) {
    // TCP in LISTEN; UDP bound and unconnected below the ephemeral range (clients' sockets
    // are connected or ephemeral).
    bool listen = (s.proto == "TCP" && s.state == 10) ||
                  (s.proto == "UDP" && s.state == 7 && s.remote_port == 0 && s.local_port > 0 &&
                   s.local_port < 32768);
    if (!listen) continue;
    std::string addr = s.local.is_v6() ? "[" + s.local.to_string() + "]" : s.local.to_string();
    std::string key = fmt::format("{} {}:{}", s.proto, addr, s.local_port);
    seen.insert(key);
    if (first || listeners_.count(key)) continue;
    int pid = socket_owner(s.inode);
    auto lineage = process_lineage(pid);
    std::string pm = lineage.empty() ? std::string() : package_manager_at_work(lineage);
    core::Event e = host_event("behaviour");
    e.fields.begin_object("process").add("pid", pid);
    std::string exe;
    if (!lineage.empty()) {
      const auto& p = lineage.front();
      exe = p.exe;
      e.fields.add("ppid", p.ppid)
          .add("uid", p.uid)
          .add("user", p.user)
          .add("exe", p.exe)
          .add("cmdline", p.cmdline);
    }
    e.fields.end();
    // A shell, an interpreter or a relay listening, or a program from a temporary or home
    // folder or a deleted file: a bind shell or a dropped tool, more than a new daemon.
    auto base = exe.substr(exe.rfind('/') + 1);
    bool odd = is_shell_or_interpreter(exe) || base == "nc" || base == "ncat" || base == "netcat" ||
               base == "socat" || base.rfind("nc.", 0) == 0 ||
               under_any(exe, {"/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/root/", "/memfd:"}) ||
               exe.find(" (deleted)") != std::string::npos;
    e.fields.begin_object("file").add("path", exe);
    if (!exe.empty())
      if (auto h = core::sha256_file_hex("/proc/" + std::to_string(pid) + "/exe"))
        e.fields.add("sha256", *h);
    e.fields.end();
    e.fields.begin_object("listen")
        .add("proto", s.proto)
        .add("address", s.local.to_string())
        .add("port", s.local_port)
        .end();
    e.fields.begin_object("behaviour").add("kind", "listener");
    if (!pm.empty()) e.fields.add("package_manager", pm);
    e.fields.end();
    int severity = odd && pm.empty() ? 2 : 3;
    make_alert(e, behaviour_sid::kListener,
               odd ? "New listening service run by a shell, interpreter or temporary program"
                   : "New listening service",
               "Potentially Bad Traffic", severity);
    sink.emit(e);
  }
  listeners_ = std::move(seen);
}

void Behaviour::poll_modules(EventSink& sink, bool first) {
  std::string text = read_small_file(o_.proc_modules, 1 << 20);
  if (text.empty()) {
    if (first)
      spdlog::info("behaviour: no {} (a kernel without loadable modules): only insmod is seen",
                   o_.proc_modules);
    return;
  }
  auto now = module_names(text);
  if (!first && have_modules_) {
    for (const auto& m : now) {
      if (modules_.count(m)) continue;
      auto who = recent_process_named({"insmod", "modprobe", "kmod"}, std::chrono::seconds(30));
      core::Event e = host_event("behaviour");
      e.fields.begin_object("process");
      if (who)
        e.fields.add("pid", who->pid)
            .add("uid", who->uid)
            .add("user", who->user)
            .add("exe", who->exe)
            .add("cmdline", who->cmdline);
      e.fields.end();
      e.fields.begin_object("module").add("name", m).end();
      e.fields.begin_object("behaviour").add("kind", "module").end();
      make_alert(e, behaviour_sid::kModule, "Kernel module loaded",
                 "Attempted Administrator Privilege Gain", 2);
      sink.emit(e);
    }
  }
  modules_ = std::move(now);
  have_modules_ = true;
}

}  // namespace mimamori::host
