#include "mimamori/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace mimamori::core {

void init_logging(std::string_view program, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(std::string(program));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %n %^%l%$: %v");
  spdlog::set_default_logger(logger);
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    spdlog::warn("unknown log level '{}', using info", level);
    lvl = spdlog::level::info;
  }
  spdlog::set_level(lvl);
}

}  // namespace mimamori::core
