#pragma once
/// EVE JSON: Suricata's one-object-per-line log format, written by a streaming writer (no
/// JSON DOM per event) and read back by a small exact reader.
///
/// Bytes that are not valid UTF-8 are written as `\u0080`..`\u00ff` escapes, which Mimamori's
/// writer never uses for real characters (it writes UTF-8 as is), so the reader turns each such
/// escape back into the one raw byte: any byte string survives a round trip.

#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/core/result.h"

namespace mimamori::core {

/// How EVE records are written.
struct EveFormat {
  int utc_offset_minutes = kJstOffsetMinutes;  ///< zone of `timestamp`
};

/// Appends `event` as one line of EVE JSON (no trailing newline) to `out`.
void append_eve(const Event& event, std::string& out, const EveFormat& format = {});

/// `event` as one line of EVE JSON (no trailing newline).
std::string to_eve(const Event& event, const EveFormat& format = {});

/// Appends `s` as a JSON string literal (with quotes), escaping as described above.
void append_json_string(std::string& out, std::string_view s);

/// Appends every top-level member of `fields` as `,"key":value` pairs.
void append_json_members(std::string& out, const Fields& fields);

/// Parses one EVE line into `event` (cleared first). Errors name the member and the offset.
Status parse_eve(std::string_view line, Event& event);

/// Parses one EVE line.
Result<Event> parse_eve(std::string_view line);

/// Parses any JSON object text into a Fields tree (with the same byte-exact string rule).
Status parse_json_object(std::string_view text, Fields& out);

/// The top-level JSON objects of `text` (JSON lines, or objects written one after another, as
/// evtx dumps are), as views into it; braces inside strings do not count.
std::vector<std::string_view> split_json_objects(std::string_view text);

}  // namespace mimamori::core
