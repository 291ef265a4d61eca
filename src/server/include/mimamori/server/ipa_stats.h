#pragma once
/// Statistics for IPA (要件 9 情報共有): alert counts aggregated over customers, with nothing
/// that names or locates one (no customer, host, address, signature or free text: only values
/// from fixed lists) and every cell covering fewer than kIpaMinCustomers customers left out.
/// Implemented in src/server/stats/.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/store.h"

namespace mimamori::server {

/// Cells covering fewer customers than this are suppressed.
inline constexpr int64_t kIpaMinCustomers = 5;

/// What to export.
struct IpaQuery {
  std::string from, to;          ///< YYYY-MM-DD (JST), both included
  std::string period = "month";  ///< month or quarter (calendar quarters, 2026-Q2)
};

/// One cell: a period and a combination of fixed values.
struct IpaCell {
  std::string period, category, severity, source, service_type;
  int64_t alerts = 0, detections = 0, customers = 0;
};

/// The export.
struct IpaStatistics {
  IpaQuery query;
  std::vector<IpaCell> cells;    ///< those covering kIpaMinCustomers customers or more
  int64_t suppressed_cells = 0;  ///< left out for covering fewer
  int64_t suppressed_detections = 0;
};

/// Aggregates the alerts of [from, to] (provider_admin only); 400 naming a bad date or period.
Result<IpaStatistics> ipa_statistics(Store& store, const Principal& p, const IpaQuery& q);
/// As CSV (a header line, then one line a cell) or JSON.
std::string ipa_csv(const IpaStatistics& s);
std::string ipa_json(const IpaStatistics& s);

}  // namespace mimamori::server
