// The one table of the Windows agent's collectors beside the event-log Sigma alerts: what
// exists, how each is configured (the Linux agent's keys where they apply), which are on.

#include <windows.h>
// After windows.h:
#include <shlobj.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "mimamori/host/windows_collectors.h"
#include "win_text.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

// C:\Users (the profiles folder), from the known folder, else %SystemDrive%\Users.
std::string profiles_dir() {
  PWSTR p = nullptr;
  std::string out;
  if (SHGetKnownFolderPath(FOLDERID_UserProfiles, 0, nullptr, &p) == S_OK) out = win::narrow(p);
  CoTaskMemFree(p);
  if (out.empty()) out = "C:\\Users";
  return out;
}

// A path list with a final `\*` expanded to the folders it names (as on Linux).
std::vector<std::string> expand(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& p : in) {
    if (p.size() < 2 || p.substr(p.size() - 2) != "\\*") {
      out.push_back(p);
      continue;
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::u8path(p.substr(0, p.size() - 2)), ec))
      if (e.is_directory(ec)) {
        auto u = e.path().u8string();
        out.emplace_back(u.begin(), u.end());
      }
  }
  return out;
}

}  // namespace

std::vector<std::string> profile_folders(const std::vector<std::string>& subfolders) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::u8path(profiles_dir()), ec)) {
    if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
    auto u = e.path().filename().u8string();
    std::string name(u.begin(), u.end());
    std::string low = name;
    std::transform(low.begin(), low.end(), low.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (low == "public" || low == "default" || low == "default user" || low == "all users")
      continue;
    for (const auto& sub : subfolders) {
      fs::path p = e.path() / fs::u8path(sub);
      if (fs::is_directory(p, ec)) {
        auto s = p.u8string();
        out.emplace_back(s.begin(), s.end());
      }
    }
  }
  return out;
}

WindowsCollectors::WindowsCollectors(const core::Config& cfg, const std::string& state,
                                     EventLogAlerts& alerts) {
  EventLogWatch::Options wo;
  wo.brute_force = cfg.get<bool>("auth.enabled", true);
  wo.failures = cfg.get<unsigned>("auth.brute_force.failures", 5);
  wo.window_s = cfg.get<int64_t>("auth.brute_force.window_s", 60);
  wo.ntlm = cfg.get<bool>("auth.brute_force.ntlm", true);
  wo.persistence = cfg.get<bool>("persistence.enabled", true);
  watch_ = std::make_unique<EventLogWatch>(wo);
  alerts.add_observer(*watch_);

  if (wo.persistence) {
    RegistryPersistence::Options o;
    o.interval = std::chrono::seconds(cfg.get<int64_t>("persistence.interval_s", 60));
    o.tasks_dir = cfg.get<std::string>("persistence.tasks_dir", "");
    collectors_.push_back(std::make_unique<RegistryPersistence>(o));
  }
  if (cfg.get<bool>("ransomware.enabled", true)) {
    RansomwareGuard::Options o;
    auto paths = cfg.get<std::vector<std::string>>("ransomware.paths", {});
    o.paths = paths.empty() ? profile_folders({"Documents", "Desktop", "Pictures"}) : expand(paths);
    o.response = ransomware_response(cfg);
    o.canaries = cfg.get<bool>("ransomware.canaries", true);
    o.threshold = cfg.get<unsigned>("ransomware.threshold", 3);
    o.window = std::chrono::milliseconds(cfg.get<int64_t>("ransomware.window_ms", 5000));
    o.allow_exe = cfg.get<std::vector<std::string>>("ransomware.allow_exe", {});
    collectors_.push_back(std::make_unique<FolderRansomwareGuard>(o));
  }
  if (cfg.get<bool>("downloads.enabled", true)) {
    DownloadsCheck::Options o;
    auto paths = cfg.get<std::vector<std::string>>("downloads.paths", {});
    o.paths = paths.empty() ? profile_folders({"Downloads"}) : expand(paths);
    o.hash_list = cfg.get<std::string>("yara.hash_list", state + "\\threat-hashes.txt");
    o.max_file_bytes = cfg.get<uint64_t>("yara.max_file_mb", 64) << 20;
    o.settle = std::chrono::milliseconds(cfg.get<int64_t>("downloads.settle_ms", 1000));
    collectors_.push_back(std::make_unique<DownloadsCheck>(o));
  }
}

WindowsCollectors::~WindowsCollectors() = default;

void WindowsCollectors::start(EventSink& sink) {
  for (auto it = collectors_.begin(); it != collectors_.end();) {
    if (auto st = (*it)->start(sink); !st) {
      spdlog::warn("{}: {}; collector disabled", (*it)->name(), st.error().message);
      it = collectors_.erase(it);
    } else {
      ++it;
    }
  }
}

void WindowsCollectors::poll(EventSink& sink) {
  for (auto& c : collectors_) c->poll(sink);
}

void WindowsCollectors::stop() {
  for (auto& c : collectors_) c->stop();
}

}  // namespace mimamori::host
