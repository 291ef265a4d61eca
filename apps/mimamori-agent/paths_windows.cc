// Text, paths and the configuration file of the agent on Windows (paths_windows.h).

#include "paths_windows.h"

#include <windows.h>

#include <fstream>
#include <sstream>

namespace mimamori::agent {

std::string narrow(std::wstring_view s) {
  if (s.empty()) return {};
  int n = WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0, nullptr,
                              nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n, nullptr,
                      nullptr);
  return out;
}

std::filesystem::path u8path(std::string_view s) {
  return std::filesystem::path(std::u8string(s.begin(), s.end()));
}
std::string u8(const std::filesystem::path& p) {
  auto s = p.u8string();
  return std::string(s.begin(), s.end());
}

// %ProgramData%\Mimamori\agent: the agent's state (spool, bookmarks, credential, rules).
std::string default_state_dir() {
  wchar_t buf[MAX_PATH];
  DWORD n = GetEnvironmentVariableW(L"ProgramData", buf, MAX_PATH);
  std::filesystem::path base = n > 0 && n < MAX_PATH ? std::filesystem::path(std::wstring(buf, n))
                                                     : std::filesystem::path(L"C:\\ProgramData");
  return u8(base / L"Mimamori" / L"agent");
}

// The configuration file read as bytes (a path with Japanese characters opens whatever the
// ANSI code page), then parsed; `--set` applied after.
core::Config load_config(const std::string& file, const std::vector<std::string>& sets) {
  core::Config cfg = core::Config::from_string("{}", "<defaults>");
  if (!file.empty()) {
    std::ifstream in(u8path(file), std::ios::binary);
    if (!in) throw core::ConfigError(file + ": cannot open the configuration file");
    std::stringstream ss;
    ss << in.rdbuf();
    cfg = core::Config::from_string(ss.str(), file);
  }
  for (const auto& s : sets) cfg.set(s);
  return cfg;
}

}  // namespace mimamori::agent
