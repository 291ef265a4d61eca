#include "mimamori/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <string>

namespace mimamori::core {

namespace {

// A control character at `s[i]`: C0, DEL, or a C1 control (U+0080..U+009F, two bytes in
// UTF-8, NEL among them). Returns its length in bytes, 0 when there is none.
size_t control_at(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x20 || c == 0x7F) return 1;
  if (c == 0xC2 && i + 1 < s.size()) {
    auto d = static_cast<unsigned char>(s[i + 1]);
    if (d >= 0x80 && d <= 0x9F) return 2;
  }
  return 0;
}

// The default logger: every message is escaped once, before any sink formats it, so that no
// sink (the console, a file, a test's capture) ever writes a value's control characters.
class EscapingLogger : public spdlog::logger {
 public:
  using spdlog::logger::logger;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    bool clean = true;
    for (size_t i = 0; i < payload.size() && clean; ++i) clean = control_at(payload, i) == 0;
    if (clean) return spdlog::logger::sink_it_(msg);
    std::string escaped = escape_log(payload);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    spdlog::logger::sink_it_(copy);
  }
};

}  // namespace

std::string escape_log(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    size_t n = control_at(s, i);
    if (n == 0) {
      out += s[i];
      continue;
    }
    unsigned char c =
        n == 2 ? static_cast<unsigned char>(s[++i]) : static_cast<unsigned char>(s[i]);
    if (n == 2) {
      out += "\\u00";
    } else if (c == '\n') {
      out += "\\n";
      continue;
    } else if (c == '\r') {
      out += "\\r";
      continue;
    } else if (c == '\t') {
      out += "\\t";
      continue;
    } else {
      out += "\\x";
    }
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void init_logging(std::string_view program, std::string_view level) {
  auto logger = std::make_shared<EscapingLogger>(
      std::string(program), std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
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
