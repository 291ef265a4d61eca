#pragma once
/// Logging: spdlog to stderr, one line per message with time, program and level. Modules log
/// with spdlog::info/warn/error directly; programs call init_logging once in main. The logger
/// it installs escapes control characters in every message (escape_log), so a value from a
/// request or a device can never start a line of its own or drive the terminal.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace mimamori::core {

/// Sets up the default logger for `program` at `level` (trace, debug, info, warn, error, off).
/// An unknown level falls back to info with a warning.
void init_logging(std::string_view program, std::string_view level = "info");

/// `s` with control characters escaped: \n \r \t, other C0 and DEL as \xNN, C1 (U+0080..
/// U+009F) as \u00NN; everything else, UTF-8 included, is kept as it is.
std::string escape_log(std::string_view s);

}  // namespace mimamori::core
