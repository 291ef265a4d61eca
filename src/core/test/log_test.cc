#include "mimamori/core/log.h"

#include <gtest/gtest.h>
#include <spdlog/details/os.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

namespace mimamori::core {
namespace {

TEST(EscapeLog, ControlCharactersAreEscapedAndUtf8Kept) {
  EXPECT_EQ(escape_log("plain text"), "plain text");
  EXPECT_EQ(escape_log("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(escape_log("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(escape_log(std::string_view("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(escape_log("next\xc2\x85line"), "next\\u0085line");  // NEL
  EXPECT_EQ(escape_log("監視停止 é"), "監視停止 é");
  EXPECT_EQ(escape_log("\xc2\xa9"), "\xc2\xa9");  // © stays
}

TEST(EscapeLog, EveryMessageOfTheDefaultLoggerIsOneLine) {
  init_logging("core_test", "info");
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  spdlog::default_logger()->sinks().push_back(sink);
  spdlog::warn("login refused for {}", "eve\n2026-01-01 fake line\x1b[2J");
  spdlog::default_logger()->sinks().pop_back();
  std::string text = out.str();
  // spdlog ends lines with the platform's end of line (CR LF on Windows).
  EXPECT_EQ(text, std::string("login refused for eve\\n2026-01-01 fake line\\x1b[2J") +
                      spdlog::details::os::default_eol);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace mimamori::core
