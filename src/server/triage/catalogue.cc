// Loads the compiled-in catalogue through core::Config, so that its errors name line and key.

#include "triage/catalogue.h"

#include <algorithm>
#include <cctype>

#include "mimamori/core/config.h"
#include "mimamori/core/text.h"

namespace mimamori::server {

extern const char kMessagesJaYaml[];  // generated from messages.ja.yaml

const Catalogue& Catalogue::get() {
  static const Catalogue kCatalogue = [] {
    Catalogue c;
    auto cfg = core::Config::from_string(kMessagesJaYaml, "messages.ja.yaml");
    for (const auto& name : cfg.require<std::vector<std::string>>("order")) {
      std::string base = "categories." + name;
      AlertCategory a;
      a.name = name;
      a.severity = cfg.require<std::string>(base + ".severity");
      a.title = cfg.require<std::string>(base + ".title");
      a.what = cfg.require<std::string>(base + ".what");
      a.danger = cfg.require<std::string>(base + ".danger");
      a.action = cfg.require<std::string>(base + ".action");
      a.match = cfg.get<std::vector<std::string>>(base + ".match", {});
      c.categories_.push_back(std::move(a));
    }
    return c;
  }();
  return kCatalogue;
}

namespace {

// Whole-word-ish: short keywords such as "c2" must not match inside other words.
bool contains_keyword(const std::string& text, const std::string& m) {
  size_t pos = 0;
  while ((pos = text.find(m, pos)) != std::string::npos) {
    bool left = pos == 0 || !std::isalnum(static_cast<unsigned char>(text[pos - 1]));
    size_t end = pos + m.size();
    bool right =
        m.size() > 4 || end >= text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
    if (left && right) return true;
    pos = end;
  }
  return false;
}

}  // namespace

const AlertCategory& Catalogue::classify(std::string_view signature,
                                         std::string_view rule_category) const {
  // The signature names the threat precisely; the rule's category (a Suricata classtype such
  // as "A Network Trojan was detected") is broad, so it only decides when the signature says
  // nothing we know.
  for (const std::string& text : {core::to_lower(signature), core::to_lower(rule_category)}) {
    for (const auto& cat : categories_) {
      for (const auto& m : cat.match) {
        if (contains_keyword(text, m)) return cat;
      }
    }
  }
  return find("other");
}

const AlertCategory& Catalogue::find(std::string_view name) const {
  for (const auto& c : categories_) {
    if (c.name == name) return c;
  }
  return categories_.back();
}

std::string alert_severity(const AlertCategory& category, int suricata_severity) {
  if (category.severity == "critical") return "critical";
  std::string s = suricata_severity <= 1   ? "high"
                  : suricata_severity == 2 ? "medium"
                  : suricata_severity == 3 ? "low"
                                           : "info";
  return severity_rank(s) >= severity_rank(category.severity) ? s : category.severity;
}

}  // namespace mimamori::server
