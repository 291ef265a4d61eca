#pragma once
// The YARA rule files built into the agent (packaging/yara/*.yar; the .cc is generated).

#include <string_view>
#include <vector>

namespace mimamori::host {

struct ShippedRuleFile {
  std::string_view name;  ///< file name under packaging/yara
  std::string_view text;
};

/// Every shipped rule file, in name order.
const std::vector<ShippedRuleFile>& shipped_yara_rules();

}  // namespace mimamori::host
