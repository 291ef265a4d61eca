// Text, paths and the configuration file of the agent on Windows (paths_windows.h).

#include "paths_windows.h"

#include <windows.h>
// After windows.h, which it needs:
#include <shellapi.h>
#include <shlobj.h>

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

// The arguments as UTF-8 from the UTF-16 command line (argv would be in the ANSI code page).
// A service installed by an MSI may have an unquoted image path (C:\Program Files\Mimamori\Agent
// \mimamori-agent.exe --service ...), which CommandLineToArgvW would split at the space in the
// path: when the line starts with this program's own path, that part is quoted first.
std::vector<std::string> command_line_args() {
  std::wstring line = GetCommandLineW();
  wchar_t exe[MAX_PATH];
  DWORD n = GetModuleFileNameW(nullptr, exe, MAX_PATH);
  if (n > 0 && n < MAX_PATH && line.size() >= n && _wcsnicmp(line.c_str(), exe, n) == 0 &&
      (line.size() == n || line[n] == L' ' || line[n] == L'\t'))
    line = L"\"" + std::wstring(exe, n) + L"\"" + line.substr(n);
  int wargc = 0;
  wchar_t** wargv = CommandLineToArgvW(line.c_str(), &wargc);
  std::vector<std::string> args;
  for (int i = 0; i < wargc; ++i) args.push_back(narrow(wargv[i]));
  LocalFree(wargv);
  return args;
}

// %ProgramData%\Mimamori\agent: the agent's state (spool, bookmarks, credential, rules). The
// folder is asked of the shell (the MSI's CommonAppDataFolder), not read from the environment:
// a service's environment need not have ProgramData (wine's services give C:\users\Public).
std::string default_state_dir() {
  wchar_t buf[MAX_PATH];
  std::filesystem::path base = L"C:\\ProgramData";
  if (SUCCEEDED(SHGetFolderPathW(nullptr, CSIDL_COMMON_APPDATA, nullptr, SHGFP_TYPE_CURRENT, buf)))
    base = std::filesystem::path(buf);
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
