#include "mimamori/host/watchers.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "mimamori/host/process_memory.h"

namespace mimamori::host {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string_view action_name(FileChange::Kind k) {
  switch (k) {
    case FileChange::Kind::kAdded:
      return "added";
    case FileChange::Kind::kDeleted:
      return "deleted";
    case FileChange::Kind::kModified:
      break;
  }
  return "modified";
}

void add_change(core::Event& e, std::string_view object, const FileChange& c,
                const std::optional<Writer>& who) {
  e.fields.begin_object(object).add("path", c.path).add("action", action_name(c.kind));
  if (!c.before.sha256.empty()) e.fields.add("sha256_before", c.before.sha256);
  if (!c.after.sha256.empty()) {
    e.fields.add("sha256", c.after.sha256).add("size", c.after.size);
    e.fields.add("mode", fmt::format("{:o}", c.after.mode & 07777)).add("uid", c.after.uid);
  }
  if (!c.added_lines.empty()) {
    e.fields.begin_array("added_lines");
    for (const auto& l : c.added_lines) e.fields.add("", l);
    e.fields.end();
  }
  if (who) {
    e.fields.begin_object("process")
        .add("pid", who->pid)
        .add("name", who->process)
        .add("exe", who->exe)
        .add("uid", who->uid)
        .end();
  }
  e.fields.end();
}

}  // namespace

bool run_parts_ignores(const std::string& path) {
  auto slash = path.rfind('/');
  std::string_view dir = std::string_view(path).substr(0, slash == std::string::npos ? 0 : slash);
  std::string_view name = std::string_view(path).substr(slash == std::string::npos ? 0 : slash + 1);
  bool cron_dir = dir.ends_with("/etc/cron.d") || dir.ends_with("/etc/cron.hourly") ||
                  dir.ends_with("/etc/cron.daily") || dir.ends_with("/etc/cron.weekly") ||
                  dir.ends_with("/etc/cron.monthly");
  if (!cron_dir || name.empty()) return false;
  return !std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
  });
}

FileIntegrity::FileIntegrity(FileWatch::Options options, std::chrono::seconds interval)
    : watch_(std::move(options)), interval_(interval) {}

FileIntegrity::~FileIntegrity() { stop(); }

core::Status FileIntegrity::start(EventSink& sink) {
  if (auto st = watch_.start(); !st) return st;
  for (const auto& c : watch_.scan(true)) {
    // Changes while the agent was down: who did it is unknown.
    core::Event e = host_event(core::event_type::kFileIntegrity);
    add_change(e, "fim", c, std::nullopt);
    sink.emit(e);
  }
  if (auto st = writers_.start(watch_.directories()); !st)
    spdlog::warn("fim: {}{}", st.error().message,
                 this_host().root ? "" : " (the agent is not running as root)");
  next_full_ = Clock::now() + interval_;
  last_poll_ = Clock::now();
  watch_.start_verify_pass();  // completes a lazy baseline, then verifies once per interval
  spdlog::info("fim: baseline of {} files in {} directories", watch_.size(),
               watch_.directories().size());
  return {};
}

void FileIntegrity::stop() { writers_.stop(); }

void FileIntegrity::poll(EventSink& sink) {
  auto now = Clock::now();
  bool full = now >= next_full_;
  if (full) {
    next_full_ = now + interval_;
    watch_.start_verify_pass();
  }
  auto changes = watch_.scan(full);
  // Content re-verification, throttled so that it never shows up as a CPU spike.
  auto more =
      watch_.verify_some(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_poll_));
  last_poll_ = now;
  changes.insert(changes.end(), more.begin(), more.end());
  for (const auto& c : changes) {
    core::Event e = host_event(core::event_type::kFileIntegrity);
    add_change(e, "fim", c, writers_.writer_of(c.path));
    sink.emit(e);
  }
}

std::vector<std::string> persistence_paths(const std::string& root) {
  std::string r = root;
  while (!r.empty() && r.back() == '/') r.pop_back();
  std::vector<std::string> rel = {"/etc/crontab",
                                  "/etc/cron.d",
                                  "/etc/cron.hourly",
                                  "/etc/cron.daily",
                                  "/etc/cron.weekly",
                                  "/etc/cron.monthly",
                                  "/var/spool/cron/crontabs",
                                  "/var/spool/cron",
                                  "/etc/anacrontab",
                                  "/etc/systemd/system",
                                  "/etc/systemd/user",
                                  "/root/.config/systemd/user",
                                  "/home/*/.config/systemd/user",
                                  "/root/.ssh/authorized_keys",
                                  "/root/.ssh/authorized_keys2",
                                  "/home/*/.ssh/authorized_keys",
                                  "/home/*/.ssh/authorized_keys2",
                                  "/etc/ld.so.preload",
                                  "/etc/profile",
                                  "/etc/profile.d",
                                  "/etc/bash.bashrc",
                                  "/etc/zsh/zshrc",
                                  "/root/.bashrc",
                                  "/root/.profile",
                                  "/root/.bash_profile",
                                  "/home/*/.bashrc",
                                  "/home/*/.profile",
                                  "/home/*/.bash_profile",
                                  "/home/*/.zshrc",
                                  "/etc/rc.local",
                                  "/etc/init.d"};
  std::vector<std::string> out;
  for (auto& p : rel) out.push_back(r + p);
  return out;
}

Persistence::Persistence(FileWatch::Options options, std::chrono::seconds interval)
    : watch_(std::move(options)), interval_(interval) {}

Persistence::~Persistence() { stop(); }

void Persistence::stop() { writers_.stop(); }

core::Status Persistence::start(EventSink& sink) {
  if (auto st = watch_.start(); !st) return st;
  next_full_ = Clock::now();
  poll(sink);
  // Who wrote: to tell a package manager's maintainer scripts from anyone else.
  if (auto st = writers_.start(watch_.directories()); !st)
    spdlog::debug("persistence: {}", st.error().message);
  spdlog::info("persistence: watching {} autostart files", watch_.size());
  return {};
}

void Persistence::poll(EventSink& sink) {
  auto now = Clock::now();
  bool full = now >= next_full_;
  if (full) next_full_ = now + interval_;
  for (const auto& c : watch_.scan(full)) {
    const std::string& p = c.path;
    uint64_t sid = persistence_sid::kShellProfile;
    std::string_view kind = "shell_profile", sig = "Shell profile changed";
    int severity = 2;
    if (p.find("ld.so.preload") != std::string::npos) {
      sid = persistence_sid::kLdPreload, kind = "ld_preload",
      sig = "ld.so.preload changed (library injected into every process)", severity = 1;
    } else if (p.find("authorized_keys") != std::string::npos) {
      sid = persistence_sid::kAuthorizedKeys, kind = "authorized_keys",
      sig = "SSH authorized_keys changed";
    } else if (p.find("cron") != std::string::npos) {
      sid = persistence_sid::kCron, kind = "cron", sig = "Cron job added or changed";
    } else if (p.find("systemd") != std::string::npos) {
      sid = persistence_sid::kSystemd, kind = "systemd",
      sig = "systemd unit or timer added or changed";
    } else if (p.find("rc.local") != std::string::npos || p.find("init.d") != std::string::npos) {
      sid = persistence_sid::kRcLocal, kind = "rc_local", sig = "Boot script changed";
    }
    auto who = writers_.writer_of(p);
    if (who && who->exe.empty()) {
      // The writer exited before fanotify's event was read: what its exec event recorded.
      if (auto k = recall_process(who->pid)) {
        who->exe = k->exe;
        who->uid = k->uid;
        who->process = fs::path(k->exe).filename().string();
      }
    }
    // dpkg installs a file under a temporary name and renames it: the writer of the final name
    // is then unknown, and a package manager at work at that moment is taken as the author.
    std::string pm =
        package_manager_at_work(who ? process_lineage(who->pid) : std::vector<KnownProcess>{});
    if (!pm.empty()) severity = 3;
    core::Event e = host_event(core::event_type::kPersistence);
    add_change(e, "persistence", c, who);
    e.fields.add("persistence_kind", kind);
    if (!pm.empty()) e.fields.add("package_manager", pm);
    // cron and run-parts skip names with anything but letters, digits, '_' and '-' in their
    // folders (dpkg's x.dpkg-new, an editor's x~): such a file starts nothing.
    bool ignored = kind == "cron" && run_parts_ignores(p);
    if (ignored) e.fields.add("ignored_by_cron", true);
    sink.emit(e);
    if (c.kind != FileChange::Kind::kDeleted && !ignored) {
      make_alert(e, sid, sig, "Persistence", severity);
      sink.emit(e);
    }
  }
}

}  // namespace mimamori::host
