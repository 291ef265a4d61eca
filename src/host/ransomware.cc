#include "mimamori/host/ransomware.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "mimamori/host/file_watch.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kHead = 4096;

}  // namespace

RansomwareGuard::RansomwareGuard(Options options) : options_(std::move(options)) {}

RansomwareGuard::~RansomwareGuard() { stop(); }

void RansomwareGuard::place_canaries() {
  // A PDF and a text file that no person edits, named to come early and late in listings.
  static constexpr std::string_view kPdf =
      "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages "
      "/Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
  for (const auto& root : options_.paths) {
    for (auto [name, content] :
         {std::pair<std::string_view, std::string_view>{"0000-mimamori-canary.pdf", kPdf},
          {"zzzz-mimamori-canary.txt",
           "This file is watched by mimamori-agent to detect ransomware. Please leave it.\n"}}) {
      std::string p = root + "/" + std::string(name);
      std::error_code ec;
      if (!fs::exists(p, ec)) {
        std::ofstream out(p, std::ios::binary);
        out << content;
      }
      canary_set_.insert(p);
      canary_paths_.push_back(p);
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0)
        canary_inodes_.emplace(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
    }
  }
}

void RansomwareGuard::mark_tree(const std::string& root) {
  std::error_code ec;
  auto mark = [&](const std::string& d) {
    if (marked_ >= options_.max_dirs) return;
    if (fan_fd_ >= 0)
      ::fanotify_mark(fan_fd_, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD,
                      d.c_str());
    int wd = ::inotify_add_watch(
        in_fd_, d.c_str(),
        IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | (fan_fd_ < 0 ? IN_CLOSE_WRITE : 0));
    if (wd >= 0) in_dirs_[wd] = d;
    ++marked_;
  };
  mark(root);
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && marked_ < options_.max_dirs; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) mark(it->path().string());
  }
}

core::Status RansomwareGuard::start(EventSink& sink) {
  sink_ = &sink;
  if (options_.paths.empty()) return core::make_error("no folders to guard (ransomware.paths)");
  in_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  fan_fd_ = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE);
  if (fan_fd_ < 0) {
    spdlog::warn(
        "ransomware: fanotify unavailable ({}{}): falling back to inotify, which cannot name the "
        "process; detection alerts but cannot stop it",
        std::strerror(errno), this_host().root ? "" : "; not running as root");
  }
  std::vector<std::string> present;
  for (const auto& p : options_.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec))
      present.push_back(p);
    else
      spdlog::warn("ransomware: '{}' is not a folder; not guarded", p);
  }
  options_.paths = std::move(present);
  if (options_.paths.empty()) return core::make_error("none of ransomware.paths is a folder");
  if (options_.canaries) place_canaries();
  for (const auto& p : options_.paths) mark_tree(p);
  if (marked_ >= options_.max_dirs)
    spdlog::warn("ransomware: watching only the first {} folders", options_.max_dirs);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { loop(); });
  spdlog::info("ransomware: guarding {} folders ({}), response {}", marked_,
               fan_fd_ >= 0 ? "fanotify" : "inotify",
               options_.response == RansomwareResponse::kAlert  ? "alert"
               : options_.response == RansomwareResponse::kStop ? "stop"
                                                                : "kill");
  return {};
}

void RansomwareGuard::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&fan_fd_, &in_fd_, &stop_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void RansomwareGuard::poll(EventSink&) {
  // Forget quiet processes so the table stays small.
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  for (auto it = suspects_.begin(); it != suspects_.end();) {
    bool quiet =
        it->second.times.empty() || now - it->second.times.back() > std::chrono::minutes(5);
    it = quiet ? suspects_.erase(it) : std::next(it);
  }
}

void RansomwareGuard::act(int pid, Suspect& s, bool canary, const std::string& trigger) {
  s.acted = true;
  auto decided = Clock::now();
  Writer w = pid > 0 ? describe_process(pid) : Writer{};
  std::string response = "alert";
  bool allowed = std::find(options_.allow_exe.begin(), options_.allow_exe.end(), w.exe) !=
                 options_.allow_exe.end();
  if (pid > 1 && pid != ::getpid() && !allowed) {
    if (options_.response == RansomwareResponse::kStop && ::kill(pid, SIGSTOP) == 0)
      response = "stopped";
    else if (options_.response == RansomwareResponse::kKill && ::kill(pid, SIGKILL) == 0)
      response = "killed";
  }
  std::string cmd = pid > 0 ? process_cmdline(pid) : "";
  core::Event e = host_event(core::event_type::kRansomware);
  e.fields.begin_object("ransomware")
      .add("trigger", trigger)
      .add("canary", canary)
      .add("files_changed", s.count)
      .add("decision_ms", std::chrono::duration<double, std::milli>(decided - s.first).count())
      .add("response", response);
  e.fields.begin_array("files");
  for (const auto& f : s.samples) e.fields.add("", f);
  e.fields.end();
  e.fields.begin_object("process")
      .add("pid", pid)
      .add("name", w.process)
      .add("exe", w.exe)
      .add("cmdline", cmd)
      .add("uid", w.uid)
      .end()
      .end();
  make_ransomware_alert(e, canary);
  spdlog::warn("ransomware: pid {} ({}) {}: {} files, response {}", pid, w.exe, trigger, s.count,
               response);
  sink_->emit(e);
}

void RansomwareGuard::on_canary(int pid, const std::string& path, std::string_view what) {
  std::lock_guard lock(mu_);
  if (pid <= 0 && last_pid_ && Clock::now() - last_pid_time_ < std::chrono::seconds(2))
    pid = last_pid_;  // inotify names no process: blame the one that was just writing
  if (pid <= 0) canary_tripped_ = Clock::now();  // the next suspicious writer is the culprit
  if (pid > 0) {
    last_pid_ = pid;
    last_pid_time_ = Clock::now();
  }
  Suspect& s = suspects_[pid];
  if (s.acted) return;
  if (!s.count) s.first = Clock::now();
  ++s.count;
  s.samples.push_back(path);
  act(pid, s, true, fmt::format("canary {}", what));
}

void RansomwareGuard::on_write(int pid, const std::string& path, int fd) {
  if (canary_set_.count(path)) return on_canary(pid, path, "written");
  if (fd >= 0 && !canary_inodes_.empty()) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 &&
        canary_inodes_.count({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}))
      return on_canary(pid, path, "written");
  }
  char head[kHead];
  ssize_t n = fd >= 0 ? ::pread(fd, head, sizeof head, 0) : -1;
  if (fd < 0) {
    int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) return;
    n = ::pread(f, head, sizeof head, 0);
    ::close(f);
  }
  if (n <= 0) return;
  WriteVerdict v = judge_write(path, {head, static_cast<std::size_t>(n)});
  if (!v.suspicious) return;
  auto now = Clock::now();
  std::lock_guard lock(mu_);
  last_pid_ = pid;
  last_pid_time_ = now;
  Suspect& s = suspects_[pid];
  if (s.acted) return;
  if (s.times.empty()) s.first = now;
  s.times.push_back(now);
  ++s.count;
  if (s.samples.size() < 10)
    s.samples.push_back(fmt::format("{} ({} -> {}, entropy {:.2f})", path,
                                    content_type_name(v.expected), content_type_name(v.found),
                                    v.entropy));
  while (!s.times.empty() && now - s.times.front() > options_.window)
    s.times.erase(s.times.begin());
  if (now - canary_tripped_ < std::chrono::seconds(5))
    act(pid, s, true, "encrypting writes right after a canary was touched");
  else if (s.times.size() >= options_.threshold)
    act(pid, s, false, "burst of encrypting writes");
}

void RansomwareGuard::loop() {
  alignas(fanotify_event_metadata) char buf[16384];
  int self = ::getpid();
  while (true) {
    pollfd p[3] = {{stop_fd_, POLLIN, 0}, {fan_fd_, POLLIN, 0}, {in_fd_, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) return;
    if (p[0].revents) return;
    if (fan_fd_ >= 0 && (p[1].revents & POLLIN)) {
      ssize_t n;
      while ((n = ::read(fan_fd_, buf, sizeof buf)) > 0) {
        auto* m = reinterpret_cast<fanotify_event_metadata*>(buf);
        for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
          if (m->fd < 0) continue;
          if (m->pid != self) {
            char link[64], path[4096];
            std::snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
            ssize_t len = ::readlink(link, path, sizeof path - 1);
            if (len > 0) on_write(m->pid, std::string(path, static_cast<std::size_t>(len)), m->fd);
          }
          ::close(m->fd);
        }
      }
    }
    if (p[2].revents & POLLIN) {
      ssize_t n;
      while ((n = ::read(in_fd_, buf, sizeof buf)) > 0) {
        for (char* q = buf; q < buf + n;) {
          auto* ev = reinterpret_cast<inotify_event*>(q);
          q += sizeof(inotify_event) + ev->len;
          auto dir = in_dirs_.find(ev->wd);
          if (dir == in_dirs_.end() || !ev->len) continue;
          std::string path = dir->second + "/" + ev->name;
          if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR)) {
            mark_tree(path);
          } else if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) && canary_set_.count(path)) {
            on_canary(0, path, ev->mask & IN_DELETE ? "deleted" : "renamed");
          } else if (fan_fd_ < 0 && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))) {
            on_write(0, path, -1);
          }
        }
      }
    }
  }
}

}  // namespace mimamori::host
