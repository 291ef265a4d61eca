// The table of detectors. The rule engine (net/rules) is the one detector so far; it reloads
// its rules on SIGHUP.

#include "detectors.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "mimamori/core/log.h"
#include "mimamori/net/rules/engine.h"

namespace mimamori::sensor {

namespace {

std::shared_ptr<net::rules::EngineSlot> g_rules;
net::rules::RuleSources g_sources;
net::rules::EngineOptions g_engine_options;
std::atomic<bool> g_reload{false};

extern "C" void on_sighup(int) { g_reload.store(true); }

// Rule files in Suricata's configuration style: `default-rule-path` + `rule-files`, unless -S
// names the only file; -s adds files.
std::vector<std::string> rule_files(const core::Config& config, const RuleOptions& rules) {
  std::vector<std::string> files;
  if (!rules.exclusive_file.empty()) {
    files.push_back(rules.exclusive_file);
  } else {
    std::filesystem::path dir = config.get<std::string>("default-rule-path", "");
    for (const auto& f : config.get<std::vector<std::string>>("rule-files", {})) {
      std::filesystem::path p(f);
      files.push_back((p.is_relative() && !dir.empty() ? dir / p : p).string());
    }
  }
  files.insert(files.end(), rules.files.begin(), rules.files.end());
  return files;
}

net::rules::EngineOptions engine_options(const core::Config& config) {
  net::rules::EngineOptions o;
  o.cache_dir = config.get<std::string>("detect.cache-dir", "");
  // Suricata's `action-order`: a YAML list, or (as --set gives it) "drop,pass,reject,alert".
  std::vector<std::string> order = config_list(config, "action-order", {});
  // As Suricata: an out-of-range value falls back to the default, with a warning.
  auto alert_max = config.get<unsigned>("packet-alert-max", o.packet_alert_max);
  if (alert_max == 0 || alert_max > 256) {
    spdlog::warn("packet-alert-max: {} is not within 1 to 256; using {}", alert_max,
                 o.packet_alert_max);
  } else {
    o.packet_alert_max = alert_max;
  }
  if (!order.empty()) {
    auto rank = net::rules::parse_action_order(order);
    if (!rank) throw core::ConfigError(rank.error().message);
    o.action_rank = *rank;
  }
  return o;
}

// Loads and compiles the rules; logs what was skipped. Errors are the caller's to report.
core::Result<std::shared_ptr<const net::rules::RuleEngine>> build_engine() {
  auto t0 = std::chrono::steady_clock::now();
  auto set = net::rules::load_rules(g_sources);
  if (!set) return set.error();
  std::size_t loaded = set->signatures.size(), enabled = set->enabled;
  // Each skipped rule at debug level; one warning says how many (--rules-check lists why).
  for (const auto& s : set->skipped) {
    spdlog::debug("{}:{}: sid {} skipped: {}", s.file, s.line, s.sid, s.reason);
  }
  if (!set->skipped.empty()) {
    spdlog::warn("{} of {} rules skipped (unsupported or invalid); --rules-check lists why",
                 set->skipped.size(), set->enabled);
  }
  auto engine = net::rules::RuleEngine::build(std::move(*set), g_engine_options);
  if (!engine) return engine.error();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("rules: {} of {} loaded, {} databases ({} from cache) in {} ms", loaded, enabled,
               (*engine)->stats().databases, (*engine)->stats().cache_hits, ms.count());
  return engine;
}

std::mutex g_reload_mutex;  // one reload at a time (SIGHUP and control commands)

// Builds a new engine and swaps it in only when it built; the workers keep inspecting with the
// old one meanwhile. Returns what happened, for the log and the control socket.
std::string reload(std::string_view why) {
  std::lock_guard lock(g_reload_mutex);
  spdlog::info("{}: reloading rules", why);
  auto engine = build_engine();
  if (!engine) {
    std::string msg =
        "rule reload failed, the current rules stay in force: " + engine.error().message;
    spdlog::error("{}", msg);
    return "error: " + msg;
  }
  std::size_t n = (*engine)->signatures().size();
  if (n == 0) {
    // Every rule skipped: a broken file rather than an intended empty ruleset.
    std::string msg = "rule reload failed, the current rules stay in force: no rule loads";
    spdlog::error("{}", msg);
    return "error: " + msg;
  }
  g_rules->set(std::move(*engine));
  spdlog::info("rule reload done: the new rules are in force");
  return "ok: " + std::to_string(n) + " rules in force";
}

void reload_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (g_reload.exchange(false)) (void)reload("SIGHUP");
  }
}

std::jthread g_reloader;

// The control socket: one command line per connection, one answer line back.
int g_control_fd = -1;
std::string g_control_path;
std::jthread g_control;

sockaddr_un control_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

void control_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    int c = ::accept(g_control_fd, nullptr, nullptr);
    if (c < 0) {
      if (stop.stop_requested()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    timeval tv{5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string cmd;
    char buf[256];
    while (cmd.find('\n') == std::string::npos && cmd.size() < 1024) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      cmd.append(buf, static_cast<std::size_t>(n));
    }
    cmd = cmd.substr(0, cmd.find_first_of("\r\n"));
    std::string answer;
    if (cmd == "reload-rules") {
      answer = g_rules ? reload("control command") : "error: no rules are loaded";
    } else {
      answer = "error: unknown command '" + cmd + "' (known: reload-rules)";
    }
    answer.push_back('\n');
    (void)!::write(c, answer.data(), answer.size());
    ::close(c);
  }
}

}  // namespace

std::vector<std::string> config_list(const core::Config& config, const std::string& key,
                                     const std::vector<std::string>& defaults) {
  std::vector<std::string> out;
  for (const auto& item : config.get<std::vector<std::string>>(key, defaults)) {
    std::string_view rest = item;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view t = rest.substr(0, comma);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      while (!t.empty() && (t.front() == ' ' || t.front() == '[')) t.remove_prefix(1);
      while (!t.empty() && (t.back() == ' ' || t.back() == ']')) t.remove_suffix(1);
      if (t.empty()) throw core::ConfigError(key + ": an empty item in '" + item + "'");
      out.emplace_back(t);
    }
  }
  return out;
}

void prepare_detectors(const core::Config& config, const RuleOptions& rules) {
  auto files = rule_files(config, rules);
  if (files.empty()) return;
  g_sources = net::rules::RuleSources::from_config(config, files);
  g_engine_options = engine_options(config);
  // Built on a thread of its own: the build's many allocations stay in that thread's malloc
  // arena, so they do not fragment the arena the packet path allocates from.
  core::Result<std::shared_ptr<const net::rules::RuleEngine>> engine =
      core::make_error("rules: not built");
  std::thread([&engine] { engine = build_engine(); }).join();
  if (!engine) throw core::ConfigError(engine.error().message);
  g_rules = std::make_shared<net::rules::EngineSlot>(std::move(*engine));
  struct sigaction sa {};
  sa.sa_handler = on_sighup;
  sa.sa_flags = SA_RESTART;  // a reload must not interrupt a blocking capture read
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  g_reloader = std::jthread(reload_loop);
  // Stop the reloader before the logger and the other statics go away at exit.
  std::atexit([] {
    g_reloader.request_stop();
    if (g_reloader.joinable()) g_reloader.join();
  });
}

void start_control(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw core::ConfigError("--control: socket path too long: " + path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw core::ConfigError("--control: cannot create a socket");
  ::unlink(path.c_str());  // a stale socket of an earlier run
  sockaddr_un a = control_address(path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    throw core::ConfigError("--control: cannot listen on " + path + ": " + std::strerror(errno));
  }
  g_control_fd = fd;
  g_control_path = path;
  g_control = std::jthread(control_loop);
  std::atexit([] {
    g_control.request_stop();
    ::shutdown(g_control_fd, SHUT_RDWR);  // wakes the blocked accept
    if (g_control.joinable()) g_control.join();
    ::close(g_control_fd);
    ::unlink(g_control_path.c_str());
  });
}

int send_control(const std::string& path, const std::string& command) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = control_address(path);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::fprintf(stderr, "mimamori-sensor: cannot connect to the control socket %s: %s\n",
                 path.c_str(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return 1;
  }
  std::string line = command + "\n";
  (void)!::write(fd, line.data(), line.size());
  std::string answer;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::fputs(answer.c_str(), stdout);
  return answer.starts_with("ok") ? 0 : 1;
}

std::vector<std::unique_ptr<net::Detector>> make_detectors(int index) {
  (void)index;
  std::vector<std::unique_ptr<net::Detector>> out;
  if (g_rules)
    out.push_back(std::make_unique<net::rules::RuleDetector>(
        std::shared_ptr<const net::rules::EngineSlot>(g_rules)));
  return out;
}

int check_rules(const core::Config& config, const RuleOptions& rules, bool verbose) {
  auto set = net::rules::load_rules(
      net::rules::RuleSources::from_config(config, rule_files(config, rules)));
  if (!set) {
    spdlog::error("{}", set.error().message);
    return 1;
  }
  std::fputs(net::rules::describe_load(*set, verbose).c_str(), stdout);
  auto engine = net::rules::RuleEngine::build(std::move(*set), engine_options(config));
  if (!engine) {
    spdlog::error("{}", engine.error().message);
    return 1;
  }
  const auto& st = (*engine)->stats();
  std::printf(
      "engine: %zu rules (%zu prefiltered, %zu without fast pattern, %zu ip-only), "
      "%zu databases (%zu from cache)\n",
      st.rules, st.prefiltered, st.always, st.ip_only, st.databases, st.cache_hits);
  return st.rules == 0 ? 1 : 0;
}

}  // namespace mimamori::sensor
