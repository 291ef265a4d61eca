#include "mimamori/host/system_watch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mimamori/host/hash_list.h"

#ifdef MIMAMORI_HAVE_YARA
#include <yara.h>
#endif

#include "mimamori/core/hash.h"
#include "mimamori/host/file_watch.h"
#include "shipped_yara.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- /proc/net parsing ----

core::IpAddress parse_proc_addr(std::string_view hex) {
  uint8_t b[16] = {0};
  if (hex.size() == 8) {
    uint32_t v = static_cast<uint32_t>(std::stoul(std::string(hex), nullptr, 16));
    std::memcpy(b, &v, 4);  // the kernel prints the address in host byte order
    return core::IpAddress::v4(b);
  }
  if (hex.size() == 32) {
    for (int w = 0; w < 4; ++w) {
      uint32_t v =
          static_cast<uint32_t>(std::stoul(std::string(hex.substr(w * 8, 8)), nullptr, 16));
      std::memcpy(b + w * 4, &v, 4);
    }
    auto ip = core::IpAddress::v6(b);
    // IPv4-mapped (::ffff:a.b.c.d): report as IPv4.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kMapped, 12) == 0) return core::IpAddress::v4(b + 12);
    return ip;
  }
  return {};
}

void split_addr(const std::string& field, core::IpAddress& ip, uint16_t& port) {
  auto colon = field.find(':');
  if (colon == std::string::npos) return;
  ip = parse_proc_addr(std::string_view(field).substr(0, colon));
  port = static_cast<uint16_t>(std::stoul(field.substr(colon + 1), nullptr, 16));
}

std::string first_line_value(const std::string& file, std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(std::string(key) + "=", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

#ifdef MIMAMORI_HAVE_YARA
struct ScanContext {
  std::vector<std::pair<std::string, std::string>> hits;  // rule, tags
};

int yara_callback(YR_SCAN_CONTEXT*, int message, void* data, void* user) {
  if (message == CALLBACK_MSG_RULE_MATCHING) {
    auto* rule = static_cast<YR_RULE*>(data);
    std::string tags;
    const char* tag;
    yr_rule_tags_foreach(rule, tag) {
      if (!tags.empty()) tags += ",";
      tags += tag;
    }
    static_cast<ScanContext*>(user)->hits.emplace_back(rule->identifier, tags);
  }
  return CALLBACK_CONTINUE;
}

void yara_compile_error(int level, const char* file, int line, const YR_RULE*, const char* msg,
                        void*) {
  spdlog::warn("yara: {}:{}: {}{}", file ? file : "?", line,
               level == YARA_ERROR_LEVEL_ERROR ? "" : "warning: ", msg);
}
#endif

}  // namespace

int socket_owner(uint64_t inode) {
  std::string want = "socket:[" + std::to_string(inode) + "]";
  std::error_code ec;
  for (const auto& p : fs::directory_iterator("/proc", ec)) {
    int pid = std::atoi(p.path().filename().c_str());
    if (pid <= 0) continue;
    for (const auto& fd : fs::directory_iterator(p.path() / "fd", ec)) {
      if (fs::read_symlink(fd.path(), ec).string() == want) return pid;
    }
    ec.clear();
  }
  return 0;
}

// ---- YaraScan ----

YaraScan::YaraScan(Options options) : o_(std::move(options)) {}

YaraScan::~YaraScan() {
  release_rules();
  if (in_fd_ >= 0) ::close(in_fd_);
}

void YaraScan::watch_tree(const std::string& root) {
  std::error_code ec;
  auto add = [&](const std::string& d) {
    int wd = ::inotify_add_watch(in_fd_, d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
    if (wd >= 0) dirs_[wd] = d;
  };
  if (!fs::is_directory(root, ec)) return;
  add(root);
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && dirs_.size() < 10000; it.increment(ec)) {
    if (it.depth() >= 4) it.disable_recursion_pending();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      // Caches and package trees are written by tools, not downloaded by people: not watched.
      auto name = it->path().filename().string();
      if (name == ".cache" || name == ".git" || name == "node_modules" || name == ".npm" ||
          name == ".cargo" || name == ".rustup" || name == ".local") {
        it.disable_recursion_pending();
        continue;
      }
      add(it->path().string());
    } else if (o_.scan_existing && it->is_regular_file(ec)) {
      queue_.insert(it->path().string());
    }
  }
}

// libyara holds about 10 MB once initialised with compiled rules, most of the agent's idle
// heap; new files to scan are rare. So start() only checks the rules (each file alone, so one
// bad file cannot poison the rest) and lets libyara go; the rules are compiled again when a
// file needs scanning and released after kIdleRelease without one.
core::Status YaraScan::start(EventSink&) {
#ifdef MIMAMORI_HAVE_YARA
  if (yr_initialize() != ERROR_SUCCESS) return core::make_error("yara: cannot initialise libyara");
  int errors = 0;
  std::error_code ec;
  if (!o_.rules_dir.empty() && fs::exists(o_.rules_dir, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(o_.rules_dir, ec)) {
      auto ext = e.path().extension().string();
      if (ext != ".yar" && ext != ".yara") continue;
      FILE* f = std::fopen(e.path().c_str(), "r");
      if (!f) continue;
      YR_COMPILER* probe = nullptr;
      int bad = 1;
      if (yr_compiler_create(&probe) == ERROR_SUCCESS) {
        yr_compiler_set_callback(probe, yara_compile_error, nullptr);
        bad = yr_compiler_add_file(probe, f, nullptr, e.path().c_str());
        yr_compiler_destroy(probe);
      }
      std::fclose(f);
      if (bad == 0) {
        rule_files_.push_back(e.path().string());
      } else {
        spdlog::warn("yara: '{}' skipped: {} errors", e.path().string(), bad);
        errors += bad;
      }
    }
    if (ec) {
      yr_finalize();
      return core::make_error("yara: rules directory '{}': {}", o_.rules_dir, ec.message());
    }
  }
  yr_finalize();
  if (rule_files_.empty() && !o_.builtin_rules && o_.hash_list.empty())
    return core::make_error("yara: no usable rules in '{}' and the built-in rules are off",
                            o_.rules_dir);
  reload_hashes();
  in_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  for (const auto& p : o_.paths) watch_tree(p);
  spdlog::info(
      "yara: {} built-in rule files, {} from '{}', {} known-bad hashes; watching {} folders",
      o_.builtin_rules ? shipped_yara_rules().size() : 0, rule_files_.size(), o_.rules_dir,
      hashes_.size(), dirs_.size());
  return {};
#else
  return core::make_error("yara: built without libyara");
#endif
}

void YaraScan::reload_hashes() {
  if (o_.hash_list.empty()) return;
  struct stat st {};
  int64_t mtime = ::stat(o_.hash_list.c_str(), &st) == 0
                      ? st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec
                      : -1;
  if (mtime == hashes_mtime_) return;
  hashes_mtime_ = mtime;
  hashes_.clear();
  std::ifstream in(o_.hash_list);
  read_hash_list(in, o_.hash_list, hashes_);
  if (mtime >= 0) spdlog::info("yara: {} known-bad hashes from '{}'", hashes_.size(), o_.hash_list);
}

bool YaraScan::load_rules() {
#ifdef MIMAMORI_HAVE_YARA
  if (rules_) return true;
  if (rule_files_.empty() && !o_.builtin_rules) return false;
  if (yr_initialize() != ERROR_SUCCESS) {
    spdlog::error("yara: cannot initialise libyara");
    return false;
  }
  YR_COMPILER* compiler = nullptr;
  if (yr_compiler_create(&compiler) != ERROR_SUCCESS) {
    yr_finalize();
    spdlog::error("yara: cannot create a compiler");
    return false;
  }
  yr_compiler_set_callback(compiler, yara_compile_error, nullptr);
  int errors = 0;
  if (o_.builtin_rules) {
    // Their own namespace, so a rule of the same name in the rules folder does not clash.
    for (const auto& file : shipped_yara_rules())
      errors += yr_compiler_add_string(compiler, std::string(file.text).c_str(), "mimamori");
  }
  for (const auto& path : rule_files_) {
    // Checked at start; a file changed since then with errors would poison the whole set.
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) continue;
    YR_COMPILER* probe = nullptr;
    int bad = 1;
    if (yr_compiler_create(&probe) == ERROR_SUCCESS) {
      yr_compiler_set_callback(probe, yara_compile_error, nullptr);
      bad = yr_compiler_add_file(probe, f, nullptr, path.c_str());
      yr_compiler_destroy(probe);
    }
    if (bad == 0) {
      std::rewind(f);
      errors += yr_compiler_add_file(compiler, f, nullptr, path.c_str());
    } else {
      spdlog::warn("yara: '{}' skipped: {} errors", path, bad);
    }
    std::fclose(f);
  }
  YR_RULES* rules = nullptr;
  int rc = errors ? ERROR_INVALID_ARGUMENT : yr_compiler_get_rules(compiler, &rules);
  yr_compiler_destroy(compiler);
  if (rc != ERROR_SUCCESS || !rules) {
    spdlog::error("yara: the rules of '{}' no longer compile; files are not scanned", o_.rules_dir);
    yr_finalize();
    return false;
  }
  rules_ = rules;
  return true;
#else
  return false;
#endif
}

void YaraScan::release_rules() {
#ifdef MIMAMORI_HAVE_YARA
  if (!rules_) return;
  yr_rules_destroy(static_cast<YR_RULES*>(rules_));
  rules_ = nullptr;
  yr_finalize();
#endif
}

#ifdef MIMAMORI_HAVE_YARA
namespace {

// Feeds libyara a file in blocks read into one buffer, so a large download costs one block of
// memory rather than a mapping of the whole file.
struct BlockReader {
  int fd = -1;
  uint64_t size = 0;
  std::vector<uint8_t> buf;
  YR_MEMORY_BLOCK block{};
  YR_MEMORY_BLOCK_ITERATOR it{};

  static const uint8_t* fetch(YR_MEMORY_BLOCK* b) {
    auto* r = static_cast<BlockReader*>(b->context);
    std::size_t got = 0;
    while (got < b->size) {
      ssize_t n =
          ::pread(r->fd, r->buf.data() + got, b->size - got, static_cast<off_t>(b->base + got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    b->size = got;
    return got ? r->buf.data() : nullptr;
  }
  static YR_MEMORY_BLOCK* at(YR_MEMORY_BLOCK_ITERATOR* it, uint64_t base) {
    auto* r = static_cast<BlockReader*>(it->context);
    if (base >= r->size) {
      it->last_error = ERROR_SUCCESS;
      return nullptr;
    }
    r->block.base = base;
    r->block.size = std::min<uint64_t>(r->buf.size(), r->size - base);
    r->block.context = r;
    r->block.fetch_data = fetch;
    it->last_error = ERROR_SUCCESS;
    return &r->block;
  }
  static YR_MEMORY_BLOCK* first(YR_MEMORY_BLOCK_ITERATOR* it) { return at(it, 0); }
  static YR_MEMORY_BLOCK* next(YR_MEMORY_BLOCK_ITERATOR* it) {
    auto* r = static_cast<BlockReader*>(it->context);
    return at(it, r->block.base + r->block.size);
  }
  static uint64_t file_size(YR_MEMORY_BLOCK_ITERATOR* it) {
    return static_cast<BlockReader*>(it->context)->size;
  }
};

}  // namespace
#endif

void YaraScan::scan(const std::string& path, EventSink& sink) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > o_.max_file_bytes)
    return;
  const std::tuple<uint64_t, int64_t, int64_t> version{
      static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  if (auto seen = alerted_.find(path); seen != alerted_.end() && seen->second == version)
    return;  // already alerted on as it is now
  bool hit = false;
  std::string sha256;
  auto add_file = [&](core::Event& e, std::string_view rule, std::string_view tags) {
    if (sha256.empty()) {
      auto h = core::sha256_file_hex(path);
      sha256 = h ? *h : std::string();
    }
    e.fields.begin_object("yara")
        .add("rule", rule)
        .add("tags", tags)
        .add("path", path)
        .add("size", static_cast<uint64_t>(st.st_size))
        .add("sha256", sha256)
        .end();
  };
  if (!hashes_.empty()) {
    auto h = core::sha256_file_hex(path);
    if (h) sha256 = *h;
    if (h && hashes_.count(*h)) {
      core::Event e = host_event(core::event_type::kFileinfo);
      add_file(e, "known_bad_hash", "hash_list");
      make_alert(e, system_sid::kKnownBadHash, "Known-bad file (hash on the threat list)",
                 "Malware File", 1);
      sink.emit(e);
      hit = true;
    }
  }
  if (!rules_) {
    if (hit) alerted_[path] = version;
    return;
  }
#ifdef MIMAMORI_HAVE_YARA
  ScanContext ctx;
  int rc;
  if (static_cast<uint64_t>(st.st_size) <= kBlock) {
    rc = yr_rules_scan_file(static_cast<YR_RULES*>(rules_), path.c_str(), SCAN_FLAGS_FAST_MODE,
                            yara_callback, &ctx, 10);
  } else {
    BlockReader r;
    r.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) return;
    r.size = static_cast<uint64_t>(st.st_size);
    r.buf.resize(kBlock);
    r.it.context = &r;
    r.it.first = BlockReader::first;
    r.it.next = BlockReader::next;
    r.it.file_size = BlockReader::file_size;
    rc = yr_rules_scan_mem_blocks(static_cast<YR_RULES*>(rules_), &r.it, SCAN_FLAGS_FAST_MODE,
                                  yara_callback, &ctx, 10);
    ::close(r.fd);
  }
  if (rc != ERROR_SUCCESS) {
    spdlog::debug("yara: cannot scan '{}' (error {})", path, rc);
    return;
  }
  for (const auto& [rule, tags] : ctx.hits) {
    core::Event e = host_event(core::event_type::kFileinfo);
    add_file(e, rule, tags);
    make_alert(e, system_sid::kYara, "YARA: " + rule, "Malware File", 1);
    sink.emit(e);
    hit = true;
  }
#endif
  if (!hit) return;
  if (alerted_.size() >= 4096) alerted_.clear();
  alerted_[path] = version;
}

void YaraScan::poll(EventSink& sink) {
  alignas(inotify_event) char buf[16384];
  ssize_t n;
  while (in_fd_ >= 0 && (n = ::read(in_fd_, buf, sizeof buf)) > 0) {
    for (char* q = buf; q < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(q);
      q += sizeof(inotify_event) + ev->len;
      auto d = dirs_.find(ev->wd);
      if (d == dirs_.end() || !ev->len) continue;
      std::string path = d->second + "/" + ev->name;
      if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR))
        watch_tree(path);
      else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
        queue_.insert(path);
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (queue_.empty()) {
    if (rules_ && now - last_scan_ >= kIdleRelease) release_rules();
    return;
  }
  reload_hashes();
  if (!load_rules() && hashes_.empty()) {
    queue_.clear();
    return;
  }
  last_scan_ = now;
  // Bounded work per poll, so a flood of downloads never spikes CPU.
  for (int k = 0; k < 64 && !queue_.empty(); ++k) {
    std::string p = *queue_.begin();
    queue_.erase(queue_.begin());
    scan(p, sink);
  }
}

// ---- sockets and the threat list ----

std::vector<SocketEntry> read_sockets(const std::string& proc_net) {
  std::vector<SocketEntry> out;
  for (const char* name : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream in(proc_net + "/" + name);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
      if (!(ls >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >>
            inode))
        continue;
      SocketEntry e;
      e.proto = name[0] == 't' ? "TCP" : "UDP";
      try {
        split_addr(local, e.local, e.local_port);
        split_addr(remote, e.remote, e.remote_port);
        e.state = static_cast<int>(std::stoul(st, nullptr, 16));
        e.inode = std::stoull(inode);
      } catch (const std::exception&) {
        continue;
      }
      out.push_back(e);
    }
  }
  return out;
}

bool AddressList::add(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  int bits = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    bits = std::atoi(std::string(text.substr(slash + 1)).c_str());
    text = text.substr(0, slash);
  }
  auto ip = core::IpAddress::parse(text);
  if (!ip) return false;
  int max = ip->is_v4() ? 32 : 128;
  if (bits < 0 || bits > max) bits = max;
  nets_.emplace_back(*ip, bits);
  return true;
}

core::Status AddressList::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::make_error("threat list '{}': {}", path, std::strerror(errno));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!add(line))
      spdlog::warn("threat list {}:{}: '{}' is not an address or CIDR block", path, n, line);
  }
  return {};
}

bool AddressList::contains(const core::IpAddress& ip) const {
  for (const auto& [net, bits] : nets_) {
    if (net.family() != ip.family()) continue;
    const auto& a = net.bytes();
    const auto& b = ip.bytes();
    int full = bits / 8, rest = bits % 8;
    if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(full)) != 0) continue;
    if (rest && ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff)) continue;
    return true;
  }
  return false;
}

NetWatch::NetWatch(std::string threat_list, std::chrono::seconds interval)
    : threat_list_(std::move(threat_list)), interval_(interval) {}

core::Status NetWatch::start(EventSink&) {
  if (threat_list_.empty()) return core::make_error("no threat list (network.threat_list)");
  struct stat st {};
  if (::stat(threat_list_.c_str(), &st) != 0) {
    // The server's list arrives with the configuration pull; wait for it.
    spdlog::info("network: threat list '{}' not there yet; checking connections once it is",
                 threat_list_);
    return {};
  }
  if (auto r = list_.load(threat_list_); !r) return r;
  list_mtime_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  spdlog::info("network: {} threat-list entries", list_.size());
  return {};
}

void NetWatch::poll(EventSink& sink) {
  auto now = Clock::now();
  if (now < next_) return;
  next_ = now + interval_;
  struct stat st {};
  if (::stat(threat_list_.c_str(), &st) == 0) {
    int64_t m = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (m != list_mtime_) {
      AddressList fresh;
      if (fresh.load(threat_list_)) {
        list_ = std::move(fresh);
        list_mtime_ = m;
        spdlog::info("network: threat list reloaded, {} entries", list_.size());
      }
    }
  }
  if (list_.size() == 0) return;
  for (const auto& s : read_sockets()) {
    if (s.remote.empty() || s.remote_port == 0 || s.state == 10) continue;
    if (!list_.contains(s.remote)) continue;
    std::string key = fmt::format("{}:{}:{}", s.proto, s.remote.to_string(), s.remote_port);
    auto it = reported_.find(key);
    if (it != reported_.end() && now - it->second < std::chrono::hours(1)) continue;
    reported_[key] = now;
    core::Event e = host_event(core::event_type::kFlow);
    e.src_ip = s.local;
    e.src_port = s.local_port;
    e.dest_ip = s.remote;
    e.dest_port = s.remote_port;
    e.proto = s.proto;
    int pid = socket_owner(s.inode);
    if (pid > 0) {
      Writer w = describe_process(pid);
      e.fields.begin_object("process")
          .add("pid", pid)
          .add("name", w.process)
          .add("exe", w.exe)
          .end();
    }
    make_alert(e, system_sid::kThreatListConnection, "Connection to an address on the threat list",
               "Potentially Bad Traffic", 1);
    sink.emit(e);
  }
}

// ---- inventory ----

std::vector<std::string> parse_rpm_packages(std::string_view output, uint64_t* bad_lines) {
  std::vector<std::string> out;
  uint64_t bad = 0;
  while (!output.empty()) {
    auto nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
    if (line.empty()) continue;
    auto tab = line.find('\t');
    if (tab == 0 || tab == std::string_view::npos || tab + 1 == line.size() ||
        line.find('\t', tab + 1) != std::string_view::npos) {
      ++bad;
      continue;
    }
    out.push_back(std::string(line.substr(0, tab)) + "=" + std::string(line.substr(tab + 1)));
  }
  std::sort(out.begin(), out.end());
  if (bad_lines) *bad_lines = bad;
  return out;
}

namespace {

// dpkg's status file, then the rpm database through the rpm program (its database format has
// changed across versions: the program is the stable interface), as name=version.
std::vector<std::string> installed_packages() {
  std::vector<std::string> out;
  std::ifstream dpkg("/var/lib/dpkg/status");
  std::string line, pkg, ver;
  bool installed = false;
  auto flush = [&] {
    if (installed && !pkg.empty()) out.push_back(pkg + "=" + ver);
    pkg.clear(), ver.clear(), installed = false;
  };
  while (std::getline(dpkg, line)) {
    if (line.empty())
      flush();
    else if (line.rfind("Package: ", 0) == 0)
      pkg = line.substr(9);
    else if (line.rfind("Version: ", 0) == 0)
      ver = line.substr(9);
    else if (line.rfind("Status: ", 0) == 0)
      installed = line.find(" installed") != std::string::npos;
  }
  flush();
  std::error_code ec;
  bool rpm_db = std::filesystem::exists("/var/lib/rpm/rpmdb.sqlite", ec) ||
                std::filesystem::exists("/var/lib/rpm/Packages", ec) ||
                std::filesystem::exists("/usr/lib/sysimage/rpm", ec);
  const char* rpm = nullptr;
  for (const char* p : {"/usr/bin/rpm", "/bin/rpm"})
    if (::access(p, X_OK) == 0) rpm = p;
  if (rpm_db && !rpm)
    spdlog::warn("inventory: an rpm database exists but no rpm program to read it");
  if (rpm_db && rpm) {
    std::string cmd = std::string(rpm) + " -qa --queryformat '" + kRpmQueryFormat + "' 2>/dev/null";
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      std::string text;
      char buf[8192];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
      int rc = ::pclose(f);
      uint64_t bad = 0;
      auto rpms = parse_rpm_packages(text, &bad);
      if (rc != 0 || bad)
        spdlog::warn("inventory: rpm -qa exited with {}, {} lines not understood", rc, bad);
      out.insert(out.end(), rpms.begin(), rpms.end());
    } else {
      spdlog::warn("inventory: cannot run {}: {}", rpm, std::strerror(errno));
    }
  }
  return out;
}

}  // namespace

void Inventory::poll(EventSink& sink) {
  auto now = Clock::now();
  if (now < next_) return;
  next_ = now + interval_;
  core::Event e = host_event(core::event_type::kInventory);
  utsname u{};
  ::uname(&u);
  e.fields.begin_object("inventory");
  e.fields.begin_object("os")
      .add("name", first_line_value("/etc/os-release", "PRETTY_NAME"))
      .add("kernel", std::string(u.release))
      .add("arch", std::string(u.machine))
      .end();
  e.fields.begin_array("packages");
  auto packages = installed_packages();
  for (const auto& p : packages) e.fields.add("", p);
  e.fields.end();
  e.fields.add("package_count", static_cast<uint64_t>(packages.size()));
  std::string line;
  e.fields.begin_array("listening");
  for (const auto& s : read_sockets()) {
    bool listen = (s.proto == "TCP" && s.state == 10) ||
                  (s.proto == "UDP" && s.remote_port == 0 && s.state == 7);
    if (!listen) continue;
    e.fields.begin_object()
        .add("proto", s.proto)
        .add("address", s.local.to_string())
        .add("port", s.local_port)
        .end();
  }
  e.fields.end();
  e.fields.begin_array("users");
  std::ifstream pw("/etc/passwd");
  while (std::getline(pw, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string part;
    while (std::getline(ls, part, ':')) f.push_back(part);
    if (f.size() < 7) continue;
    int uid = std::atoi(f[2].c_str());
    bool login =
        f[6].find("nologin") == std::string::npos && f[6].find("false") == std::string::npos;
    if (uid == 0 || (uid >= 1000 && uid < 65534) || login)
      e.fields.begin_object().add("name", f[0]).add("uid", uid).add("shell", f[6]).end();
  }
  e.fields.end();
  e.fields.end();
  sink.emit(e);
}

}  // namespace mimamori::host
