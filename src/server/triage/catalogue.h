#pragma once
// The alert category catalogue (messages.ja.yaml, compiled in): classification keywords,
// default severities, and the plain-Japanese explanation of every category.

#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/model.h"

namespace mimamori::server {

/// One category of the catalogue.
struct AlertCategory {
  std::string name, severity, title, what, danger, action;
  std::vector<std::string> match;
};

/// The catalogue; loaded once (a broken catalogue is a build error caught by the tests).
class Catalogue {
 public:
  /// The compiled-in catalogue.
  static const Catalogue& get();
  /// The category of an alert by its signature and rule category text.
  const AlertCategory& classify(std::string_view signature, std::string_view rule_category) const;
  /// The named category, or `other`.
  const AlertCategory& find(std::string_view name) const;
  const std::vector<AlertCategory>& categories() const { return categories_; }

 private:
  std::vector<AlertCategory> categories_;  // in `order`
};

/// The severity of an alert: the category's when critical, else Suricata's 1..4 mapped to
/// high, medium, low, info (never below the category's default).
std::string alert_severity(const AlertCategory& category, int suricata_severity);

}  // namespace mimamori::server
