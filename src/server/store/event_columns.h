// The records of an event block laid out by column (block format 2, store/event_blocks.cc):
// each record becomes a skeleton (its text with the values of its members taken out) and the
// values; skeletons are stored once per block, and the values of one member name and kind side
// by side — integers as LEB128, dotted IPv4 addresses as 4 bytes, hex strings as their bytes,
// EVE times as the difference to the event's own time — so that zstd sees like beside like
// instead of one record after another. A value is taken out only in a form that gives its text
// back exactly; anything else stays in the skeleton.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

// LEB128 integers and their zigzag form for signed values, as the event blocks store them.
void put_varint(std::string& out, uint64_t v);
bool get_varint(std::string_view in, size_t& at, uint64_t& v);
uint64_t zigzag(int64_t v);
int64_t unzigzag(uint64_t v);

/// One record to lay out: its text and the event's time (UTC micros), from which times in it
/// are stored as differences.
struct ColumnRecord {
  std::string_view text;
  int64_t ts = 0;
};

/// Appends the column form of `records` to `out`. Records with bytes below 0x08 (never in
/// JSON text) are kept whole as their own skeleton.
void encode_columns(std::span<const ColumnRecord> records, std::string& out);

/// The `times.size()` records of a column form at `in[at…]` (`times`: the events' times, in
/// the order given to encode_columns); `at` is moved past it.
core::Result<std::vector<std::string>> decode_columns(std::string_view in, size_t& at,
                                                      std::span<const int64_t> times);

}  // namespace mimamori::server
