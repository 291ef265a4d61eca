#pragma once
// `mimamori hunt`: shared declarations of the command's files (options, report, messages);
// the scan itself is the hunt module.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/hunt/scan.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::cli::hunt {

using mimamori::hunt::Detection;
using mimamori::hunt::jst_time;
using mimamori::hunt::ScanTotals;

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

}  // namespace mimamori::cli::hunt
