#pragma once
/// Logging: spdlog to stderr, one line per message with time, program and level. Modules log
/// with spdlog::info/warn/error directly; programs call init_logging once in main.

#include <spdlog/spdlog.h>

#include <string_view>

namespace mimamori::core {

/// Sets up the default logger for `program` at `level` (trace, debug, info, warn, error, off).
/// An unknown level falls back to info with a warning.
void init_logging(std::string_view program, std::string_view level = "info");

}  // namespace mimamori::core
