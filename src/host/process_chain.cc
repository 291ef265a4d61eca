#include "mimamori/host/process_chain.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "mimamori/core/hash.h"
#include "mimamori/host/system_watch.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.substr(0, p.size()) == p) return true;
  return false;
}

bool contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

// The inode of "pipe:[123]" / "socket:[123]" (0 when the link is something else).
uint64_t link_inode(std::string_view link, std::string_view kind) {
  if (link.size() < kind.size() + 3 || link.substr(0, kind.size()) != kind ||
      link[kind.size()] != ':' || link[kind.size() + 1] != '[')
    return 0;
  return std::strtoull(std::string(link.substr(kind.size() + 2)).c_str(), nullptr, 10);
}

std::string user_name(uint32_t uid) {
  if (passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return std::to_string(uid);
}

ChainMember from_info(const ProcessInfo& p) {
  return ChainMember{p.pid, p.uid, p.user, p.exe, p.cmdline};
}

void add_member(core::Event& e, std::string_view key, const ChainMember& m) {
  e.fields.begin_object(key)
      .add("pid", m.pid)
      .add("uid", m.uid)
      .add("user", m.user)
      .add("exe", m.exe)
      .add("cmdline", m.cmdline)
      .end();
}

}  // namespace

bool is_shell_or_interpreter(std::string_view exe) {
  auto b = base_name(exe);
  for (std::string_view s :
       {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox", "node", "nodejs"})
    if (b == s) return true;
  return starts_with_any(b, {"python", "perl", "ruby", "php", "lua", "pwsh", "tclsh"});
}

bool is_downloader(std::string_view exe, std::string_view cmdline) {
  auto b = base_name(exe);
  for (std::string_view s : {"curl", "wget", "fetch", "aria2c", "tftp", "lwp-download", "ftp"})
    if (b == s) return true;
  if (b == "base64" || b == "base32" || b == "basenc")
    return contains(cmdline, " -d") || contains(cmdline, "--decode");
  if (b == "xxd") return contains(cmdline, " -r");
  if (b == "openssl") return contains(cmdline, " -d") && contains(cmdline, "base64");
  // A one-liner (-c / -e / -r) of a scripting language that opens a URL or a socket, or decodes.
  if (starts_with_any(b, {"python", "perl", "ruby", "php"})) {
    bool one_liner =
        contains(cmdline, " -c ") || contains(cmdline, " -e ") || contains(cmdline, " -r ");
    if (!one_liner) return false;
    for (std::string_view w : {"http://", "https://", "urlopen", "urllib", "requests.get",
                               "LWP::", "IO::Socket", "socket", "b64decode", "decode_base64",
                               "base64_decode", "Net::HTTP", "open-uri", "file_get_contents"})
      if (contains(cmdline, w)) return true;
  }
  return false;
}

void add_chain(core::Event& e, const ChainFinding& f) {
  e.fields.begin_object("chain").add("kind", f.kind);
  add_member(e, "parent", f.parent);
  if (f.source) add_member(e, "source", *f.source);
  if (!f.siblings.empty()) {
    e.fields.begin_array("siblings");
    for (const auto& s : f.siblings) {
      e.fields.begin_object()
          .add("pid", s.pid)
          .add("user", s.user)
          .add("exe", s.exe)
          .add("cmdline", s.cmdline)
          .end();
    }
    e.fields.end();
  }
  if (!f.file.empty()) {
    e.fields.begin_object("file").add("path", f.file).add("sha256", f.file_sha256);
    if (f.file_age_s >= 0) e.fields.add("age_s", f.file_age_s);
    e.fields.end();
  }
  if (!f.socket_remote.empty())
    e.fields.begin_object("socket")
        .add("proto", f.socket_proto)
        .add("remote", f.socket_remote)
        .end();
  if (f.pipe_inode) e.fields.add("pipe_inode", f.pipe_inode);
  if (f.source_exited) e.fields.add("source_exited", true);
  e.fields.end();
}

ProcessChains::ProcessChains(std::string proc) : proc_(std::move(proc)) {}

std::string ProcessChains::fd_link(int pid, int fd) const {
  std::error_code ec;
  return fs::read_symlink(proc_ + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec)
      .string();
}

// Children of `ppid`: from /proc/<ppid>/task/*/children where the kernel has it, else a walk of
// every /proc/<pid>/stat (only done for the rare exec this needs it for).
std::vector<int> ProcessChains::children_of(int ppid) const {
  std::vector<int> out;
  std::error_code ec;
  std::string task = proc_ + "/" + std::to_string(ppid) + "/task";
  bool have_children_file = false;
  for (const auto& t : fs::directory_iterator(task, ec)) {
    std::string text = read_small_file(t.path().string() + "/children");
    if (::access((t.path().string() + "/children").c_str(), R_OK) == 0) have_children_file = true;
    const char* s = text.c_str();
    char* end = nullptr;
    for (long v = std::strtol(s, &end, 10); end != s; v = std::strtol(s, &end, 10)) {
      out.push_back(static_cast<int>(v));
      s = end;
    }
  }
  if (have_children_file) return out;
  for (const auto& p : fs::directory_iterator(proc_, ec)) {
    int pid = std::atoi(p.path().filename().c_str());
    if (pid <= 0) continue;
    std::string stat = read_small_file(p.path().string() + "/stat", 512);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int parent = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &parent) == 2 && parent == ppid)
      out.push_back(pid);
  }
  return out;
}

std::optional<ChainMember> ProcessChains::member(int pid) const {
  std::string base = proc_ + "/" + std::to_string(pid);
  std::error_code ec;
  ChainMember m;
  m.pid = pid;
  m.exe = fs::read_symlink(base + "/exe", ec).string();
  m.cmdline = read_small_file(base + "/cmdline", 1 << 15);
  std::replace(m.cmdline.begin(), m.cmdline.end(), '\0', ' ');
  while (!m.cmdline.empty() && m.cmdline.back() == ' ') m.cmdline.pop_back();
  if (m.exe.empty() && m.cmdline.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(base.c_str(), &st) == 0) m.uid = st.st_uid;
  m.user = user_name(m.uid);
  return m;
}

ChainMember ProcessChains::parent_of(const ProcessInfo& p) const {
  ChainMember m;
  m.pid = p.ppid;
  m.exe = p.parent_exe;
  m.cmdline = p.parent_cmdline;
  if (auto full = member(p.ppid)) m = *full;
  return m;
}

std::vector<ChainMember> ProcessChains::siblings_of(const ProcessInfo& p) const {
  std::vector<ChainMember> out;
  if (p.ppid <= 0) return out;
  for (int c : children_of(p.ppid)) {
    if (c == p.pid) continue;
    if (auto m = member(c)) out.push_back(*m);
    if (out.size() >= 16) break;
  }
  return out;
}

void ProcessChains::expire() {
  auto now = Clock::now();
  while (!recent_.empty() && (now - recent_.front().at > kMemory || recent_.size() > 256))
    recent_.pop_front();
}

bool ProcessChains::first_report(uint64_t key) {
  if (reported_pipes_.size() > 4096) reported_pipes_.clear();
  return reported_pipes_.insert(key).second;
}

void ProcessChains::check(const ProcessInfo& p, std::vector<ChainFinding>& out) {
  expire();
  const bool shell = is_shell_or_interpreter(p.exe);
  const bool downloader = is_downloader(p.exe, p.cmdline);
  std::string in = (shell || downloader) ? fd_link(p.pid, 0) : std::string();
  std::string outl = (shell || downloader) ? fd_link(p.pid, 1) : std::string();
  uint64_t in_pipe = link_inode(in, "pipe"), out_pipe = link_inode(outl, "pipe");

  auto finding = [&](uint64_t sid, std::string_view sig, int severity, std::string_view kind) {
    ChainFinding f;
    f.sid = sid;
    f.signature = sig;
    f.severity = severity;
    f.kind = kind;
    f.parent = parent_of(p);
    f.siblings = siblings_of(p);
    return f;
  };
  constexpr std::string_view kPipeSig = "Download piped into a shell or interpreter";

  // 1. A shell/interpreter reading a pipe whose writer is (or was, moments ago) a downloader.
  if (shell && in_pipe) {
    std::optional<ChainMember> writer;
    for (auto it = recent_.rbegin(); it != recent_.rend() && !writer; ++it)
      if (it->stdout_pipe == in_pipe) writer = it->who;
    if (!writer) {
      for (int c : children_of(p.ppid)) {
        if (c == p.pid || link_inode(fd_link(c, 1), "pipe") != in_pipe) continue;
        auto m = member(c);
        if (m && is_downloader(m->exe, m->cmdline)) writer = m;
      }
    }
    // A quick download (a small script from a near server) can be over before its exec event is
    // read, and its stdout with it: then a downloader of the same parent that ran in the last
    // seconds, whose stdout went unread, stands for the writer — said so in the alert.
    bool exited = false;
    if (!writer) {
      const auto now = Clock::now();
      for (auto it = recent_.rbegin(); it != recent_.rend() && !writer; ++it)
        if (it->stdout_unread && it->ppid == p.ppid && now - it->at <= kExitedWriter)
          writer = it->who, exited = true;
    }
    if (writer && first_report(in_pipe)) {
      auto f = finding(process_sid::kPipeToShell, kPipeSig, 1, "pipe_to_shell");
      f.source = writer;
      f.pipe_inode = in_pipe;
      f.source_exited = exited;
      out.push_back(std::move(f));
    }
  }

  // 2. A downloader: remember it; if a sibling shell/interpreter already reads its pipe, report.
  if (downloader) {
    Recent r;
    r.at = Clock::now();
    r.started_wall = static_cast<int64_t>(std::time(nullptr));
    r.who = from_info(p);
    r.cwd = p.cwd;
    r.stdout_pipe = out_pipe;
    r.ppid = p.ppid;
    r.stdout_unread = outl.empty();
    recent_.push_back(r);
    if (r.stdout_unread) {
      // Gone before its stdout was read: a sibling shell reading a pipe now, not reported yet,
      // was fed by it (the shell's own exec may have been read first and found no writer).
      for (int c : children_of(p.ppid)) {
        if (c == p.pid) continue;
        const uint64_t pipe = link_inode(fd_link(c, 0), "pipe");
        auto m = pipe ? member(c) : std::nullopt;
        if (!m || !is_shell_or_interpreter(m->exe) || reported_pipes_.count(pipe)) continue;
        ProcessInfo reader;
        reader.pid = m->pid;
        reader.ppid = p.ppid;
        reader.parent_exe = p.parent_exe;
        reader.parent_cmdline = p.parent_cmdline;
        ChainMember parent = parent_of(p);
        if (m->exe == parent.exe && m->cmdline == parent.cmdline) continue;  // a fork, not yet run
        first_report(pipe);
        ChainFinding f;
        f.sid = process_sid::kPipeToShell;
        f.signature = kPipeSig;
        f.severity = 1;
        f.kind = "pipe_to_shell";
        f.parent = parent;
        f.siblings = siblings_of(reader);
        f.source = from_info(p);
        f.pipe_inode = pipe;
        f.source_exited = true;
        f.subject = *m;
        out.push_back(std::move(f));
      }
    }
    if (out_pipe) {
      ChainMember parent = parent_of(p);
      for (int c : children_of(p.ppid)) {
        if (c == p.pid || link_inode(fd_link(c, 0), "pipe") != out_pipe) continue;
        auto m = member(c);
        // A fork of the parent that has not run its program yet looks like the parent: its own
        // exec event comes later and finds this downloader in recent_.
        if (!m || !is_shell_or_interpreter(m->exe) ||
            (m->exe == parent.exe && m->cmdline == parent.cmdline))
          continue;
        if (!first_report(out_pipe)) continue;
        ProcessInfo reader;
        reader.pid = m->pid;
        reader.ppid = p.ppid;
        reader.parent_exe = p.parent_exe;
        reader.parent_cmdline = p.parent_cmdline;
        ChainFinding f;
        f.sid = process_sid::kPipeToShell;
        f.signature = kPipeSig;
        f.severity = 1;
        f.kind = "pipe_to_shell";
        f.parent = parent;
        f.siblings = siblings_of(reader);
        f.source = from_info(p);
        f.pipe_inode = out_pipe;
        f.subject = *m;  // the alert is about the reader, which started first
        out.push_back(std::move(f));
      }
    }
  }

  // 3. A shell/interpreter whose stdin or stdout is a connected network socket.
  if (shell) {
    uint64_t sock = link_inode(in, "socket");
    if (!sock) sock = link_inode(outl, "socket");
    if (sock) {
      for (const auto& s : read_sockets(proc_ + "/" + std::to_string(p.pid) + "/net")) {
        if (s.inode != sock || s.remote_port == 0) continue;
        auto f = finding(process_sid::kSocketShell,
                         "Shell or interpreter with a network socket as stdin/stdout", 1,
                         "socket_shell");
        f.socket_proto = s.proto;
        f.socket_remote =
            (s.remote.is_v6() ? "[" + s.remote.to_string() + "]" : s.remote.to_string()) + ":" +
            std::to_string(s.remote_port);
        out.push_back(std::move(f));
        break;
      }
    }
  }

  // 4. What was run: a memfd, a temporary folder, a file a downloader wrote moments ago.
  const std::string& exe = p.exe;
  auto file_of = [&](ChainFinding& f) {
    f.file = exe;
    auto h = core::sha256_file_hex(proc_ + "/" + std::to_string(p.pid) + "/exe");
    if (h) f.file_sha256 = *h;
    struct stat st {};
    if (::stat(exe.c_str(), &st) == 0)
      f.file_age_s = std::max<int64_t>(0, std::time(nullptr) - st.st_mtim.tv_sec);
  };
  if (exe.rfind("/memfd:", 0) == 0) {
    // runc re-executes itself from a sealed memfd on every container start (CVE-2019-5736).
    bool runc = exe.rfind("/memfd:runc_cloned:", 0) == 0 &&
                (base_name(p.parent_exe) == "runc" ||
                 base_name(p.parent_exe).substr(0, 15) == "containerd-shim");
    if (!runc) {
      auto f = finding(process_sid::kFilelessExec, "Fileless execution: program run from a memfd",
                       1, "memfd_exec");
      file_of(f);
      out.push_back(std::move(f));
    }
    return;
  }
  struct stat st {};
  bool have = !exe.empty() && ::stat(exe.c_str(), &st) == 0;
  if (have) {
    auto age = static_cast<int64_t>(std::time(nullptr)) - st.st_mtim.tv_sec;
    auto dir = fs::path(exe).parent_path().string();
    auto name = std::string(base_name(exe));
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
      if (it->who.pid == p.pid || age > kMemory.count() || st.st_mtim.tv_sec + 2 < it->started_wall)
        continue;
      // The downloader named the file (curl -o x, wget …/x) in its command line, by its path or
      // by its name while working in the file's folder.
      bool named = contains(it->who.cmdline, exe) ||
                   (it->cwd == dir && !name.empty() && contains(it->who.cmdline, name));
      if (!named) continue;
      auto f =
          finding(process_sid::kDownloadedExec,
                  "Downloaded file executed moments after it was written", 1, "downloaded_exec");
      f.source = it->who;
      file_of(f);
      out.push_back(std::move(f));
      return;
    }
  }
  bool shm = exe.rfind("/dev/shm/", 0) == 0;
  if (shm || exe.rfind("/tmp/", 0) == 0 || exe.rfind("/var/tmp/", 0) == 0) {
    // Builds and installers run programs from /tmp every day (low); /dev/shm hardly ever.
    auto f = finding(process_sid::kTempExec,
                     shm ? "Program run from /dev/shm" : "Program run from a temporary folder",
                     shm ? 2 : 3, "temp_exec");
    file_of(f);
    out.push_back(std::move(f));
  }
}

}  // namespace mimamori::host
