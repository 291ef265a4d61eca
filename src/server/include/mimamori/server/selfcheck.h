#pragma once
// The registration self-check (登録要件の自己点検) and the service catalogue (サービス概要): what a
// provider shows the registration body, read from the store and the server's configuration.
// Every requirement is `met` only on evidence; what the data does not show is `unmet`, and what
// this version of Mimamori cannot record yet is `not_configured`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// One line of evidence, in Japanese and English.
struct SelfCheckText {
  std::string ja, en;
};

/// One of the ten registration requirements (OTASUKETAI.md) and what the running service shows.
struct SelfCheckItem {
  int number = 0;
  std::string key;       ///< desk, monitoring, dispatch, ease, insurance, package, price, ...
  std::string title_ja;  ///< 相談窓口, ...
  std::string title_en;
  std::string status;  ///< met, unmet, not_configured
  std::vector<SelfCheckText> evidence;
  SelfCheckText action;  ///< what to do; empty when met
};

struct SelfCheck {
  int64_t generated_at = 0;
  std::vector<SelfCheckItem> items;  ///< the ten requirements in order
};

/// The self-check (provider_admin; other roles 403, audited). `now` in UTC micros.
Result<SelfCheck> registration_self_check(Store& store, const Principal& p,
                                          const ServerOptions& options, int64_t now);
/// {"generated_at", "summary": {met, unmet, not_configured}, "items": [...]}.
std::string self_check_json(const SelfCheck& s);

/// The self-check as a Japanese A4 PDF (summary table, then each requirement's evidence and
/// what to do), in `lang` "ja" or "en" for the evidence lines.
std::string self_check_pdf(const SelfCheck& s, std::string_view lang = "ja");

/// One row of the service catalogue: a registered plan as IPA's service description asks.
struct CatalogueRow {
  std::string plan_id, service_name, type, type_ja, service_class;
  std::string monitored;  ///< what is watched (Japanese)
  int64_t monthly_fee = 0, per_device_fee = 0, initial_fee = 0;
  bool prices_include_tax = false;
  int64_t min_devices = 1, max_devices = 0, min_term_months = 0;
  std::string monitoring_hours, desk_hours, dispatch;
  int64_t dispatch_arrival_hours = 0;
  int64_t notify_minutes = 0;  ///< escalation of an unacknowledged critical incident
  int64_t insurance_coverage = 0;
  std::string initial_fee_terms, term_terms, cancellation_penalty, right_to_cancel;
  bool compliant = false;
};

/// The registered plans as catalogue rows, by name (any signed-in user; plans are public to
/// customers).
Result<std::vector<CatalogueRow>> service_catalogue(Store& store, const Principal& p,
                                                    const ServerOptions& options);
/// {"items": [...], "registered_services": [...]}: the provider's registered plans and IPA's
/// list of registered services (ServerOptions::registered_services) to compare them with.
std::string catalogue_json(const std::vector<CatalogueRow>& rows,
                           const std::vector<RegisteredService>& services = {});
/// CSV for Excel: UTF-8 with a byte order mark, CRLF line ends, every field quoted.
std::string catalogue_csv(const std::vector<CatalogueRow>& rows);

}  // namespace mimamori::server
