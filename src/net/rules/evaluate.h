#pragma once
// Full evaluation of one rule's checks on one buffer: content with every modifier, pcre,
// byte_test/jump/extract, isdataat, bsize, with Suricata's backtracking over relative matches.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/net/rules/signature.h"

namespace mimamori::net::rules {

/// Reusable state of one evaluation (byte_extract variables, backtracking budget, dotprefix).
struct EvalScratch {
  uint64_t vars[16] = {};
  uint32_t budget = 0;
  /// Index of the last content item that found no occurrence at all in its window (see
  /// match_content: a later start cannot find one either).
  std::size_t not_found = SIZE_MAX;
  std::string prefixed;  ///< "." + buffer for dotprefix (capacity reused)
  void reset(uint8_t /*nvars*/) { budget = 0; }
};

/// True when `data` satisfies every check of `list`.
bool match_list(const BufferChecks& list, std::string_view data, EvalScratch& es);

/// Reads a number as byte_test/byte_jump/byte_extract do; false when the bytes are not there
/// or do not form a number.
bool read_number(const ByteRead& r, std::string_view data, std::size_t pos, uint64_t& out);
/// As above with an explicit byte count (from a variable); 0 bytes never reads.
bool read_number(const ByteRead& r, std::string_view data, std::size_t pos, uint64_t& out,
                 std::size_t nbytes);

}  // namespace mimamori::net::rules
