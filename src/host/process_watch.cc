#include "mimamori/host/process_watch.h"

#include <dirent.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mimamori/core/hash.h"
#include "mimamori/host/process_chain.h"
#include "mimamori/host/process_memory.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

std::string link_of(const std::string& p) {
  std::error_code ec;
  return fs::read_symlink(p, ec).string();
}

struct Detection {
  uint64_t sid;
  const char* signature;
  const char* regex;
};

// Command-line shapes of the three classic Linux intrusions. Each regex is evaluated by
// Vectorscan over "exe\ncmdline", caseless.
const Detection kDetections[] = {
    {process_sid::kReverseShell, "Reverse shell: interactive shell tied to a network socket",
     R"((ba|z|k)?sh\s+-i\s*[<>]&?\s*/dev/(tcp|udp)/)"},
    {process_sid::kReverseShell, "Reverse shell: /dev/tcp redirection",
     R"(/dev/(tcp|udp)/[^/\s]+/\d+)"},
    {process_sid::kReverseShell, "Reverse shell: netcat executing a shell",
     R"(\b(nc|ncat|netcat|nc\.traditional)\b[^\n|;]*\s-(e|c)\s*\S*(sh|bash)\b)"},
    {process_sid::kReverseShell, "Reverse shell: socat with exec",
     R"(\bsocat\b[^\n]*(exec|system):[^\n]*(sh|bash))"},
    {process_sid::kReverseShell, "Reverse shell: scripting language socket with a shell",
     R"(\b(python[0-9.]*|perl|ruby|php)\b[^\n]*socket[^\n]*(subprocess|pty\.spawn|/bin/(ba)?sh|exec|fsockopen))"},
    {process_sid::kReverseShell, "Reverse shell: named pipe relayed through netcat",
     R"(mkfifo[^\n]*\|[^\n]*\b(nc|ncat|netcat)\b)"},
    {process_sid::kDownloadExecute, "Download and execute: piped into a shell",
     R"(\b(curl|wget|fetch)\b[^\n|]*\|\s*(sudo\s+)?(ba|da|z)?sh\b)"},
    {process_sid::kDownloadExecute, "Download and execute: piped into an interpreter",
     R"(\b(curl|wget)\b[^\n|]*\|\s*(python[0-9.]*|perl|ruby|php)\b)"},
    {process_sid::kDownloadExecute, "Download and execute: fetched, made executable and run",
     R"(\b(curl|wget)\b[^\n]*(&&|;)\s*chmod\s+(\+x|[0-7]*7[0-7]*)\s+\S+\s*(&&|;)\s*\S*\./)"},
    {process_sid::kDownloadExecute, "Download and execute: base64 payload decoded into a shell",
     R"(base64\s+(-d|--decode)[^\n]*\|\s*(ba)?sh\b)"},
    {process_sid::kMiner, "Crypto miner: stratum mining pool URL", R"(stratum\+(tcp|ssl|tls)://)"},
    {process_sid::kMiner, "Crypto miner: known miner program",
     R"((^|/)(xmrig|xmr-stak|minerd|cpuminer|ethminer|nbminer|t-rex|lolminer|phoenixminer|kinsing)(\s|\n|$))"},
    {process_sid::kMiner, "Crypto miner: mining options on the command line",
     R"(--(donate-level|cpu-priority|randomx|coin)\b|\s-a\s+(cryptonight|rx/0|randomx)\b)"},
    // insmod takes any file (modprobe only what is installed under /lib/modules): the way a
    // rootkit is loaded. Loads without it are seen in /proc/modules by the behaviour collector.
    {process_sid::kModuleLoad, "Kernel module loaded from a file (insmod)",
     R"(\n(\S*/)?insmod\s+\S)"},
};

// The module file named on an insmod command line (its first argument that is not an option).
std::string insmod_file(const std::string& cmdline) {
  std::istringstream words(cmdline);
  std::string w;
  words >> w;  // insmod
  while (words >> w)
    if (!w.empty() && w[0] != '-') return w;
  return {};
}

}  // namespace

std::optional<ProcessInfo> read_process(int pid) {
  ProcessInfo p;
  p.pid = pid;
  std::string base = "/proc/" + std::to_string(pid);
  // The program first: a process that exits while being read is best known by it.
  p.exe = link_of(base + "/exe");
  p.cmdline = process_cmdline(pid);
  std::istringstream st(read_small_file(base + "/status"));
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("PPid:", 0) == 0) p.ppid = std::atoi(line.c_str() + 5);
    if (line.rfind("Uid:", 0) == 0)
      p.uid = static_cast<uint32_t>(std::strtoul(line.c_str() + 4, nullptr, 10));
  }
  p.cwd = link_of(base + "/cwd");
  if (p.cmdline.empty() && p.exe.empty()) return std::nullopt;  // kernel thread or gone
  if (passwd* pw = ::getpwuid(p.uid)) p.user = pw->pw_name;
  if (p.ppid > 0) {
    p.parent_exe = link_of("/proc/" + std::to_string(p.ppid) + "/exe");
    p.parent_cmdline = process_cmdline(p.ppid);
  }
  return p;
}

ProcessDetections::ProcessDetections() {
  std::vector<match::Pattern> pats;
  uint32_t id = 0;
  for (const auto& d : kDetections) {
    match::Pattern p;
    p.id = id++;
    p.expression = d.regex;
    p.kind = match::Pattern::Kind::kRegex;
    p.caseless = true;
    pats.push_back(p);
  }
  auto set = match::PatternSet::compile(pats);
  MIMAMORI_ASSERT(set.ok(), "built-in process detections must compile");
  set_.emplace(std::move(*set));
  (void)set_->prepare(scratch_);
}

void ProcessDetections::check(const ProcessInfo& p,
                              std::vector<std::pair<uint64_t, std::string>>& hits) {
  subject_.assign(p.exe).append("\n").append(p.cmdline);
  std::set<uint64_t> seen;
  (void)set_->scan(subject_, scratch_, [&](uint32_t id, uint64_t) {
    const Detection& d = kDetections[id];
    if (seen.insert(d.sid).second) hits.emplace_back(d.sid, d.signature);
    return true;
  });
}

namespace {
constexpr int kReceiveBuffer = 8 << 20;     // bytes of queued exec events (about 100k events)
constexpr std::size_t kMaxQueued = 100000;  // programs read but not yet judged
}  // namespace

ProcessWatch::ProcessWatch(ProcessRuleHook rules)
    : rules_(std::move(rules)), chains_(std::make_unique<ProcessChains>()) {}

ProcessWatch::~ProcessWatch() { stop(); }

core::Status ProcessWatch::start(EventSink& sink) {
  sink_ = &sink;
  nl_fd_ = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  bool ok = nl_fd_ >= 0;
  if (ok) {
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = CN_IDX_PROC;
    addr.nl_pid = 0;
    ok = ::bind(nl_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  if (ok) {
    // A busy machine (a build starts thousands of programs a minute) sends bursts of exec
    // events faster than /proc can be read for each: a large buffer absorbs them. Root may go
    // past the system's rmem_max; others get what it allows.
    int size = kReceiveBuffer;
    if (::setsockopt(nl_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      (void)::setsockopt(nl_fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (ok) {
    // nlmsghdr + cn_msg + the operation, laid out by hand (cn_msg ends in a flexible array).
    alignas(nlmsghdr) char req[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
    auto* hdr = reinterpret_cast<nlmsghdr*>(req);
    hdr->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
    hdr->nlmsg_type = NLMSG_DONE;
    hdr->nlmsg_pid = static_cast<uint32_t>(::getpid());
    auto* msg = static_cast<cn_msg*>(NLMSG_DATA(hdr));
    msg->id.idx = CN_IDX_PROC;
    msg->id.val = CN_VAL_PROC;
    msg->len = sizeof(proc_cn_mcast_op);
    proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
    std::memcpy(msg->data, &op, sizeof op);
    ok = ::send(nl_fd_, req, hdr->nlmsg_len, 0) == static_cast<ssize_t>(hdr->nlmsg_len);
  }
  if (!ok) {
    spdlog::warn(
        "process: netlink process connector unavailable ({}{}); polling /proc instead, which "
        "misses processes that live less than a poll interval",
        std::strerror(errno), this_host().root ? "" : "; it needs root");
    if (nl_fd_ >= 0) ::close(nl_fd_);
    nl_fd_ = -1;
    polling_ = true;
    for (const auto& e : fs::directory_iterator("/proc")) {
      int pid = std::atoi(e.path().filename().c_str());
      if (pid > 0) known_pids_.insert(pid);
    }
    return {};
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  worker_ = std::thread([this] { work(); });
  thread_ = std::thread([this] { loop(); });
  // A program that lives a millisecond (chmod, rm) can be read from /proc only if the reader
  // runs the moment its exec is announced, even on a machine whose cores are all busy: the
  // reader does little (a few small /proc files per program), so it may run ahead of everything.
  sched_param prio{};
  prio.sched_priority = 1;
  int rc = ::pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &prio);
  spdlog::info("process: exec events from the netlink process connector{}",
               rc == 0 ? "" : fmt::format(" (at normal priority: {})", std::strerror(rc)));
  return {};
}

void ProcessWatch::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (worker_.joinable()) {
    {
      std::lock_guard lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    worker_.join();
  }
  if (nl_fd_ >= 0) ::close(nl_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  nl_fd_ = stop_fd_ = -1;
}

void ProcessWatch::loop() {
  alignas(nlmsghdr) char buf[8192];
  std::vector<ProcessInfo> started;
  while (true) {
    pollfd p[2] = {{stop_fd_, POLLIN, 0}, {nl_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[0].revents) return;
    // Every queued exec is read from /proc at once; the slow work (hashing, rules, the event
    // log) is the worker's, so a program that lives a millisecond is not read after it.
    started.clear();
    for (int batch = 0; batch < 512; ++batch) {
      ssize_t n = ::recv(nl_fd_, buf, sizeof buf, batch == 0 ? 0 : MSG_DONTWAIT);
      if (n < 0 && errno == ENOBUFS) {
        // The kernel dropped events while we were behind; say so (each power of two, so a
        // storm does not flood the log), then go on with the ones that follow.
        ++overruns_;
        if ((overruns_ & (overruns_ - 1)) == 0)
          spdlog::warn(
              "process: exec events were lost: the machine started programs faster than they "
              "could be read ({} overruns so far)",
              overruns_);
        continue;
      }
      if (n <= 0) break;
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        auto* msg = static_cast<cn_msg*>(NLMSG_DATA(h));
        // The event sits at offset 20 of the message: copy it out rather than read it
        // misaligned.
        proc_event ev{};
        std::memcpy(&ev, msg->data, std::min<std::size_t>(msg->len, sizeof ev));
        if (ev.what != proc_event::PROC_EVENT_EXEC) continue;
        int pid = ev.event_data.exec.process_tgid;
        if (pid == ::getpid()) continue;
        if (auto info = read_process(pid)) {
          remember_process(*info);
          started.push_back(std::move(*info));
        }
      }
    }
    if (started.empty()) continue;
    {
      std::lock_guard lock(queue_mu_);
      for (auto& info : started) {
        if (queue_.size() >= kMaxQueued) {
          // Remembered (a file collector can still name it), but not written as an event.
          ++queue_drops_;
          if ((queue_drops_ & (queue_drops_ - 1)) == 0)
            spdlog::warn(
                "process: {} started programs were not written as events: they came faster than "
                "they could be hashed and checked",
                queue_drops_);
          continue;
        }
        queue_.push_back(std::move(info));
      }
    }
    queue_cv_.notify_one();
  }
}

void ProcessWatch::work() {
  while (true) {
    std::deque<ProcessInfo> batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      batch.swap(queue_);
    }
    std::lock_guard lock(mu_);
    for (auto& info : batch) report(std::move(info), *sink_);
  }
}

std::string ProcessWatch::exe_hash(const std::string& exe) {
  struct stat st {};
  if (exe.empty() || ::stat(exe.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  std::string key = fmt::format("{}:{}:{}", st.st_size, st.st_mtim.tv_sec, st.st_ino);
  auto it = hash_cache_.find(exe);
  if (it != hash_cache_.end() && it->second.first == key) return it->second.second;
  if (st.st_size > (256 << 20)) return {};
  auto h = core::sha256_file_hex(exe);
  if (!h) return {};
  if (hash_cache_.size() > 4096) hash_cache_.clear();
  hash_cache_[exe] = {key, *h};
  return *h;
}

void ProcessWatch::report(int pid, EventSink& sink) {
  if (pid == ::getpid()) return;
  auto p = read_process(pid);
  if (!p) return;
  remember_process(*p);
  report(std::move(*p), sink);
}

void ProcessWatch::report(ProcessInfo info, EventSink& sink) {
  auto* p = &info;
  p->sha256 = exe_hash(p->exe);
  core::Event e = host_event(core::event_type::kProcess);
  e.fields.begin_object("process")
      .add("pid", p->pid)
      .add("ppid", p->ppid)
      .add("uid", p->uid)
      .add("user", p->user)
      .add("exe", p->exe)
      .add("cmdline", p->cmdline)
      .add("cwd", p->cwd)
      .add("sha256", p->sha256)
      .begin_object("parent")
      .add("exe", p->parent_exe)
      .add("cmdline", p->parent_cmdline)
      .end()
      .end();
  sink.emit(e);
  hits_.clear();
  detections_.check(*p, hits_);
  for (const auto& [sid, sig] : hits_) {
    core::Event a = e;
    if (sid == process_sid::kModuleLoad) {
      std::string file = insmod_file(p->cmdline);
      std::string path = file;
      if (!file.empty() && file[0] != '/' && !p->cwd.empty())
        path = (fs::path(p->cwd) / file).lexically_normal().string();
      a.fields.begin_object("module").add("file", path);
      if (!path.empty())
        if (auto h = core::sha256_file_hex(path)) a.fields.add("sha256", *h);
      a.fields.end();
      make_alert(a, sid, sig, "Attempted Administrator Privilege Gain", 2);
      sink.emit(a);
      continue;
    }
    make_alert(a, sid, sig,
               sid == process_sid::kMiner ? "Crypto Currency Mining Activity Detected"
                                          : "A Network Trojan was detected",
               sid == process_sid::kMiner ? 2 : 1);
    sink.emit(a);
  }
  chain_hits_.clear();
  chains_->check(*p, chain_hits_);
  for (const auto& f : chain_hits_) {
    core::Event a = e;
    if (f.subject) {
      const auto& s = *f.subject;
      a = host_event(core::event_type::kProcess);
      a.fields.begin_object("process")
          .add("pid", s.pid)
          .add("ppid", p->ppid)
          .add("uid", s.uid)
          .add("user", s.user)
          .add("exe", s.exe)
          .add("cmdline", s.cmdline)
          .add("sha256", exe_hash(s.exe))
          .begin_object("parent")
          .add("exe", p->parent_exe)
          .add("cmdline", p->parent_cmdline)
          .end()
          .end();
    }
    add_chain(a, f);
    make_alert(a, f.sid, f.signature, "Process Chain", f.severity);
    sink.emit(a);
  }
  if (rules_) {
    rule_hits_.clear();
    rules_(*p, rule_hits_);
    for (const auto& [title, level] : rule_hits_) {
      core::Event a = e;
      int sev = level == "critical" ? 1 : level == "high" ? 1 : level == "medium" ? 2 : 3;
      make_alert(a, process_sid::kSigmaBase, title, "Sigma", sev);
      a.alert->extra.add("sigma_level", level);
      sink.emit(a);
    }
  }
}

void ProcessWatch::poll(EventSink& sink) {
  if (!polling_) return;
  std::set<int> now;
  for (const auto& e : fs::directory_iterator("/proc")) {
    int pid = std::atoi(e.path().filename().c_str());
    if (pid > 0) now.insert(pid);
  }
  std::lock_guard lock(mu_);
  for (int pid : now)
    if (!known_pids_.count(pid)) report(pid, sink);
  known_pids_ = std::move(now);
}

}  // namespace mimamori::host
