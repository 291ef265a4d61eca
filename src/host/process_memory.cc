#include "mimamori/host/process_memory.h"

#include <pwd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "mimamori/host/file_watch.h"

namespace mimamori::host {
namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
  KnownProcess p;
  Clock::time_point at;
};

// Bounded: pids are reused, and a build starts thousands of programs a minute.
constexpr std::size_t kMaxEntries = 8192;
constexpr auto kKeep = std::chrono::minutes(10);

struct Memory {
  std::mutex mu;
  std::unordered_map<int, Entry> by_pid;
  std::deque<std::pair<int, Clock::time_point>> order;
};

Memory& memory() {
  static Memory m;
  return m;
}

std::string_view base_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view first_word(std::string_view cmdline) {
  return cmdline.substr(0, cmdline.find(' '));
}

bool is_package_manager(const KnownProcess& p) {
  static const std::string_view kNames[] = {"dpkg",   "apt",   "apt-get",    "aptitude",
                                            "rpm",    "dnf",   "yum",        "zypper",
                                            "pacman", "snapd", "packagekitd"};
  auto exe = base_of(p.exe), arg0 = base_of(first_word(p.cmdline));
  for (auto n : kNames)
    if (exe == n || arg0 == n) return true;
  // unattended-upgrades is a python script.
  return p.cmdline.find("unattended-upgrade") != std::string::npos;
}

std::optional<KnownProcess> live(int pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::string status = read_small_file(base + "/status");
  if (status.empty()) return std::nullopt;
  KnownProcess p;
  p.pid = pid;
  std::istringstream st(status);
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("PPid:", 0) == 0) p.ppid = std::atoi(line.c_str() + 5);
    if (line.rfind("Uid:", 0) == 0)
      p.uid = static_cast<uint32_t>(std::strtoul(line.c_str() + 4, nullptr, 10));
  }
  std::error_code ec;
  p.exe = std::filesystem::read_symlink(base + "/exe", ec).string();
  p.cmdline = process_cmdline(pid);
  passwd pw{}, *found = nullptr;
  char buf[1024];
  if (::getpwuid_r(p.uid, &pw, buf, sizeof buf, &found) == 0 && found) p.user = pw.pw_name;
  return p;
}

}  // namespace

void remember_process(const ProcessInfo& info) {
  auto& m = memory();
  auto now = Clock::now();
  std::lock_guard lock(m.mu);
  while (!m.order.empty() &&
         (m.order.size() >= kMaxEntries || now - m.order.front().second > kKeep)) {
    auto [pid, at] = m.order.front();
    m.order.pop_front();
    auto it = m.by_pid.find(pid);
    if (it != m.by_pid.end() && it->second.at == at) m.by_pid.erase(it);
  }
  Entry e;
  e.p.pid = info.pid;
  e.p.ppid = info.ppid;
  e.p.uid = info.uid;
  e.p.user = info.user;
  e.p.exe = info.exe;
  e.p.cmdline = info.cmdline;
  e.at = now;
  m.by_pid[info.pid] = std::move(e);
  m.order.emplace_back(info.pid, now);
}

std::optional<KnownProcess> recall_process(int pid) {
  if (pid <= 0) return std::nullopt;
  auto l = live(pid);
  if (l && !l->exe.empty()) return l;
  auto& m = memory();
  std::lock_guard lock(m.mu);
  auto it = m.by_pid.find(pid);
  if (it != m.by_pid.end() && Clock::now() - it->second.at <= kKeep) return it->second.p;
  return l;  // a process whose exe cannot be read (kernel thread, no permission)
}

std::vector<KnownProcess> process_lineage(int pid, int depth) {
  std::vector<KnownProcess> out;
  for (int i = 0; i < depth && pid > 1; ++i) {
    auto p = recall_process(pid);
    if (!p) break;
    out.push_back(*p);
    if (p->ppid == pid) break;
    pid = p->ppid;
  }
  return out;
}

std::string package_manager_at_work(const std::vector<KnownProcess>& lineage,
                                    std::chrono::seconds recent) {
  for (const auto& p : lineage)
    if (is_package_manager(p)) return std::string(base_of(p.exe));
  // A known actor outside a package manager is not one: only an unknown actor is judged by
  // what else runs (another user's apt must not hide an intruder's act).
  if (!lineage.empty()) return {};
  auto& m = memory();
  auto now = Clock::now();
  {
    std::lock_guard lock(m.mu);
    for (auto it = m.order.rbegin(); it != m.order.rend() && now - it->second <= recent; ++it) {
      auto e = m.by_pid.find(it->first);
      if (e != m.by_pid.end() && is_package_manager(e->second.p))
        return std::string(base_of(e->second.p.exe));
    }
  }
  // Without exec events (no process collector): one running now.
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = std::atoi(d.path().filename().c_str());
    if (pid <= 0) continue;
    std::string comm = read_small_file(d.path().string() + "/comm", 64);
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm == "dpkg" || comm == "apt" || comm == "apt-get" || comm == "rpm" || comm == "dnf" ||
        comm == "yum" || comm == "zypper" || comm == "unattended-upgr")
      return comm;
  }
  return {};
}

bool lineage_runs(const std::vector<KnownProcess>& lineage, std::string_view name) {
  return std::any_of(lineage.begin(), lineage.end(), [&](const KnownProcess& p) {
    return base_of(p.exe) == name || base_of(first_word(p.cmdline)) == name;
  });
}

std::optional<KnownProcess> recent_process_named(const std::vector<std::string_view>& names,
                                                 std::chrono::seconds recent) {
  auto& m = memory();
  auto now = Clock::now();
  std::lock_guard lock(m.mu);
  for (auto it = m.order.rbegin(); it != m.order.rend() && now - it->second <= recent; ++it) {
    auto e = m.by_pid.find(it->first);
    if (e == m.by_pid.end()) continue;
    const auto& p = e->second.p;
    for (auto n : names)
      if (base_of(p.exe) == n || base_of(first_word(p.cmdline)) == n) return p;
  }
  return std::nullopt;
}

}  // namespace mimamori::host
