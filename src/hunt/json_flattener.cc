// Flattens a JSON event (the evtx-dump shape, or any object) into named fields, the way the
// EVTX reader names them: `Provider_Name` for attributes, Data names without spaces.

#include "mimamori/hunt/json_flattener.h"

#include <fmt/format.h>

#include <algorithm>

namespace mimamori::hunt {

void JsonFlattener::flatten(const core::Fields& f,
                            std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  walk(f, 0, static_cast<uint32_t>(f.nodes().size()), "", "", out);
}

void JsonFlattener::walk(const core::Fields& f, uint32_t b, uint32_t e, std::string_view parent,
                         std::string_view owner,
                         std::vector<std::pair<std::string, std::string>>& out) {
  const auto& nodes = f.nodes();
  for (uint32_t i = b; i < e;) {
    const auto& n = nodes[i];
    std::string_view key = f.key_of(n);
    if (n.kind == core::ValueKind::kObject || n.kind == core::ValueKind::kArray) {
      if (key == "#attributes")
        walk(f, i + 1, n.end, parent, parent, out);
      else
        walk(f, i + 1, n.end, key.empty() ? parent : key, "", out);
      i = n.end;
      continue;
    }
    std::string name;
    if (!owner.empty()) {
      name = fmt::format("{}_{}", owner, key);
    } else if (key.empty() || key == "#text") {
      name = parent;
    } else {
      name = key;
    }
    name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
    if (name != "xmlns_xmlns" && name != "Event_xmlns") {
      auto v = f.value_at(i);
      std::string text;
      switch (v.kind) {
        case core::ValueKind::kString:
          text = v.str;
          break;
        case core::ValueKind::kInt:
          text = std::to_string(v.i);
          break;
        case core::ValueKind::kUint:
          text = std::to_string(v.u);
          break;
        case core::ValueKind::kDouble:
          text = fmt::format("{}", v.d);
          break;
        case core::ValueKind::kBool:
          text = v.b ? "true" : "false";
          break;
        default:
          break;
      }
      out.emplace_back(std::move(name), std::move(text));
    }
    ++i;
  }
}

}  // namespace mimamori::hunt
