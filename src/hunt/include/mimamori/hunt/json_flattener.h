#pragma once
/// JsonFlattener: a JSON event (the evtx-dump shape, or any object) as the flat named fields the
/// EVTX reader gives, so that Sigma rules match JSON exports and .evtx files alike.

#include <string>
#include <utility>
#include <vector>

#include "mimamori/core/fields.h"

namespace mimamori::hunt {

/// Flattens parsed JSON into (name, value) pairs: `Provider_Name` for attributes, the parent's
/// name for `#text`, Data names without spaces, namespace declarations left out.
class JsonFlattener {
 public:
  /// Replaces `out` with the fields of `f`, in document order.
  void flatten(const core::Fields& f, std::vector<std::pair<std::string, std::string>>& out);

 private:
  void walk(const core::Fields& f, uint32_t b, uint32_t e, std::string_view parent,
            std::string_view owner, std::vector<std::pair<std::string, std::string>>& out);
};

}  // namespace mimamori::hunt
