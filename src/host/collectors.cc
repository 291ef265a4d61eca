// The one table of the agent's collectors (no self-registration): what exists on this
// platform, how each is configured, which ones are on by default.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "mimamori/host/auth_log.h"
#include "mimamori/host/behaviour.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/process_watch.h"
#include "mimamori/host/ransomware.h"
#include "mimamori/host/system_watch.h"
#include "mimamori/host/watchers.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {

std::vector<std::unique_ptr<Collector>> make_collectors(const core::Config& cfg) {
  namespace fs = std::filesystem;
  std::vector<std::unique_ptr<Collector>> out;
  fs::path state = cfg.get<std::string>("agent.state_dir", "/var/lib/mimamori-agent");

  if (cfg.get<bool>("auth.enabled", true)) {
    auto files =
        cfg.get<std::vector<std::string>>("auth.files", {"/var/log/auth.log", "/var/log/secure"});
    std::string journald = cfg.get<std::string>("auth.journald", "auto");
    bool any_file = false;
    for (const auto& f : files) any_file |= ::access(f.c_str(), F_OK) == 0;
    bool use_journal = journald == "true" || (journald == "auto" && !any_file);
    out.push_back(std::make_unique<AuthLog>(files, cfg.get<bool>("auth.from_start", false),
                                            use_journal,
                                            cfg.get<unsigned>("auth.brute_force.failures", 5),
                                            cfg.get<int64_t>("auth.brute_force.window_s", 60)));
  }
  if (cfg.get<bool>("fim.enabled", true)) {
    FileWatch::Options o;
    o.paths = cfg.get<std::vector<std::string>>(
        "fim.paths", {"/etc", "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/boot"});
    o.baseline_file = state / "fim.baseline";
    o.hash_bytes_per_s = cfg.get<uint64_t>("fim.hash_rate_kb_s", 8192) * 1024;
    o.max_files = cfg.get<uint64_t>("fim.max_files", 200000);
    o.lazy_baseline = true;
    out.push_back(std::make_unique<FileIntegrity>(
        o, std::chrono::seconds(cfg.get<int64_t>("fim.scan_interval_s", 3600))));
  }
  if (cfg.get<bool>("persistence.enabled", true)) {
    FileWatch::Options o;
    o.paths = persistence_paths(cfg.get<std::string>("persistence.root", "/"));
    o.baseline_file = state / "persistence.baseline";
    o.keep_content_below = 64 << 10;
    o.max_depth = 3;
    out.push_back(std::make_unique<Persistence>(
        o, std::chrono::seconds(cfg.get<int64_t>("persistence.interval_s", 60))));
  }
  if (cfg.get<bool>("ransomware.enabled", true)) {
    RansomwareGuard::Options o;
    for (const auto& p :
         cfg.get<std::vector<std::string>>("ransomware.paths", {"/home/*", "/root"})) {
      if (p.find('*') == std::string::npos) {
        o.paths.push_back(p);
        continue;
      }
      std::error_code ec;
      fs::path parent = fs::path(p).parent_path();
      for (const auto& e : fs::directory_iterator(parent, ec))
        if (e.is_directory(ec)) o.paths.push_back(e.path().string());
    }
    o.response = ransomware_response(cfg);
    o.canaries = cfg.get<bool>("ransomware.canaries", true);
    o.threshold = cfg.get<unsigned>("ransomware.threshold", 3);
    o.window = std::chrono::milliseconds(cfg.get<int64_t>("ransomware.window_ms", 5000));
    o.allow_exe = cfg.get<std::vector<std::string>>("ransomware.allow_exe", {});
    out.push_back(std::make_unique<RansomwareGuard>(o));
  }
  if (cfg.get<bool>("process.enabled", true)) {
    ProcessRuleHook hook;
    // Default: what `mimamori-agent rules update --kind sigma` installed, if anything.
    std::vector<std::string> installed;
    std::error_code sec;
    if (fs::is_directory(state / "sigma", sec)) installed.push_back((state / "sigma").string());
    auto paths = cfg.get<std::vector<std::string>>("process.sigma_rules", installed);
    if (!paths.empty()) {
      auto rules = std::make_shared<sigma::RuleSet>();
      for (const auto& p : paths) rules->load_path(p);
      if (auto st = rules->compile(); !st)
        throw core::ConfigError(fmt::format("process.sigma_rules: {}", st.error().message));
      std::vector<bool> wanted;
      std::size_t n = 0;
      for (const auto& r : rules->rules()) {
        // Only rules meant for Linux exec events; others in the folder are ignored here.
        bool w = !r.correlation && r.product == "linux" && r.category == "process_creation";
        wanted.push_back(w);
        n += w;
      }
      spdlog::info(
          "process: {} Sigma linux process_creation rules loaded ({} files, {} not loadable)", n,
          rules->files_seen(), rules->errors().size());
      for (const auto& e : rules->errors()) spdlog::debug("sigma: {}: {}", e.file, e.reason);
      auto matcher = std::make_shared<sigma::Matcher>(*rules);
      hook = [rules, matcher, wanted](const ProcessInfo& p,
                                      std::vector<std::pair<std::string, std::string>>& found) {
        std::string pid = std::to_string(p.pid), ppid = std::to_string(p.ppid);
        sigma::FieldView fields[] = {{"Image", p.exe},
                                     {"CommandLine", p.cmdline},
                                     {"ParentImage", p.parent_exe},
                                     {"ParentCommandLine", p.parent_cmdline},
                                     {"User", p.user},
                                     {"CurrentDirectory", p.cwd},
                                     {"ProcessId", pid},
                                     {"ParentProcessId", ppid}};
        thread_local std::vector<uint32_t> hits;
        hits.clear();
        matcher->match(fields, hits);
        for (uint32_t h : hits) {
          if (h >= wanted.size() || !wanted[h]) continue;
          const auto& r = rules->rules()[h];
          found.emplace_back(r.title, std::string(sigma::level_name(r.level)));
        }
      };
    }
    out.push_back(std::make_unique<ProcessWatch>(std::move(hook)));
  }
  if (cfg.get<bool>("yara.enabled", true)) {
    YaraScan::Options o;
    o.rules_dir = cfg.get<std::string>("yara.rules_dir", "/etc/mimamori/yara");
    o.builtin_rules = cfg.get<bool>("yara.builtin_rules", true);
    o.hash_list = cfg.get<std::string>("yara.hash_list", (state / "threat-hashes.txt").string());
    // Downloads, temporary folders and home folders (with their Downloads) by default.
    for (const auto& p : cfg.get<std::vector<std::string>>(
             "yara.paths", {"/tmp", "/var/tmp", "/dev/shm", "/root", "/home/*"})) {
      if (p.find('*') == std::string::npos) {
        o.paths.push_back(p);
        continue;
      }
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(fs::path(p).parent_path(), ec))
        if (e.is_directory(ec)) o.paths.push_back(e.path().string());
    }
    o.scan_existing = cfg.get<bool>("yara.scan_existing", false);
    o.max_file_bytes = cfg.get<uint64_t>("yara.max_file_mb", 64) << 20;
    out.push_back(std::make_unique<YaraScan>(std::move(o)));
  }
  if (cfg.get<bool>("network.enabled", true)) {
    out.push_back(std::make_unique<NetWatch>(
        cfg.get<std::string>("network.threat_list", (state / "threat-list.txt").string()),
        std::chrono::seconds(cfg.get<int64_t>("network.interval_s", 10))));
  }
  if (cfg.get<bool>("behaviour.enabled", true)) {
    Behaviour::Options o;
    auto expand = [&](const std::vector<std::string>& in) {
      std::vector<std::string> dirs;
      for (const auto& p : in) {
        if (p.find('*') == std::string::npos) {
          dirs.push_back(p);
          continue;
        }
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(fs::path(p).parent_path(), ec))
          if (e.is_directory(ec)) dirs.push_back(e.path().string());
      }
      return dirs;
    };
    o.suid_paths = expand(cfg.get<std::vector<std::string>>(
        "behaviour.suid_paths",
        {"/tmp", "/var/tmp", "/dev/shm", "/root", "/home/*", "/usr/local/bin", "/usr/local/sbin",
         "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/opt"}));
    o.suid_depth = cfg.get<int>("behaviour.suid_depth", 2);
    o.logs = cfg.get<std::vector<std::string>>(
        "behaviour.logs", {"/var/log/auth.log", "/var/log/secure", "/var/log/syslog",
                           "/var/log/messages", "/var/log/kern.log", "/var/log/wtmp",
                           "/var/log/btmp", "/var/log/lastlog", "/var/log/audit/audit.log"});
    o.homes = expand(cfg.get<std::vector<std::string>>("behaviour.homes", {"/root", "/home/*"}));
    o.admin_groups =
        cfg.get<std::vector<std::string>>("behaviour.admin_groups", {"sudo", "wheel", "admin"});
    std::error_code ec;
    if (fs::is_regular_file(cfg.source(), ec)) o.self_config = cfg.source();
    o.self_program = fs::read_symlink("/proc/self/exe", ec).string();
    o.poll_interval =
        std::chrono::milliseconds(cfg.get<int64_t>("behaviour.poll_interval_ms", 2000));
    out.push_back(std::make_unique<Behaviour>(std::move(o)));
  }
  if (cfg.get<bool>("inventory.enabled", true)) {
    out.push_back(std::make_unique<Inventory>(
        std::chrono::seconds(cfg.get<int64_t>("inventory.interval_s", 86400))));
  }
  return out;
}

}  // namespace mimamori::host
