#pragma once
// `mimamori hunt`: shared declarations of the command's files (scan, report, messages).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::cli::hunt {

/// One detection row of the timeline.
struct Detection {
  core::Timestamp time;
  std::string computer;
  std::string channel;
  std::string event_id;
  uint64_t record_id = 0;
  uint32_t rule = 0;
  std::string details;
  uint32_t source = 0;  ///< index into the input file list
};

/// What was read.
struct ScanTotals {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
  uint64_t bad_records = 0;
  uint64_t bad_chunks = 0;
  uint64_t crc_errors = 0;
  uint64_t problems = 0;
  uint64_t unreadable = 0;
  double seconds = 0;       ///< scanning and matching
  double rule_seconds = 0;  ///< loading and compiling the rules
  double cpu_seconds = 0;   ///< CPU time of scanning and matching, all threads
};

/// Output formats of the timeline.
enum class Format { kCsv, kJsonl, kTable };

/// Languages of the summary and help.
enum class Lang { kEn, kJa };

/// A message of the catalogue in the given language.
std::string_view msg(Lang lang, std::string_view key);
/// The language the locale asks for (LC_ALL, LC_MESSAGES, LANG): Japanese when it starts `ja`.
Lang default_lang();

/// Hayabusa's short level names: info, low, med, high, crit.
std::string_view short_level(sigma::Level level);

/// Writes the timeline (already sorted) in `format` to `out`.
void write_timeline(std::FILE* out, Format format, const std::vector<Detection>& rows,
                    const sigma::RuleSet& rules, const std::vector<std::string>& sources);

/// Writes the summary: detections per level and rule, top computers, first/last time, speed.
void write_summary(std::FILE* out, Lang lang, const std::vector<Detection>& rows,
                   const sigma::RuleSet& rules, const ScanTotals& totals);

/// `2026-04-17 14:24:53.088 +09:00`: JST with milliseconds, as Hayabusa shows it.
std::string jst_time(core::Timestamp ts);

}  // namespace mimamori::cli::hunt
