#pragma once
// Text, paths and the configuration file of the agent on Windows: UTF-8 everywhere inside, wide
// strings only at the Windows API (paths_windows.cc).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/config.h"

namespace mimamori::agent {

/// UTF-16 from Windows as UTF-8.
std::string narrow(std::wstring_view s);
/// The program's arguments (argv[0] first) in UTF-8, read from the UTF-16 command line.
std::vector<std::string> command_line_args();
/// A UTF-8 path, and a path as UTF-8.
std::filesystem::path u8path(std::string_view s);
std::string u8(const std::filesystem::path& p);
/// %ProgramData%\Mimamori\agent: the agent's state (spool, bookmarks, credential, rules).
std::string default_state_dir();
/// The configuration file read as bytes (a path with Japanese characters opens whatever the
/// ANSI code page), then parsed; `--set` applied after.
core::Config load_config(const std::string& file, const std::vector<std::string>& sets);

}  // namespace mimamori::agent
