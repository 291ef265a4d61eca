#pragma once
/// The IT導入補助金 (セキュリティ対策推進枠) estimate for a service's fees: the year's rules are
/// data (contracts/subsidy_years.json, compiled in), the computation a pure function shared by
/// `mimamori subsidy` and `POST /api/v1/subsidy`. Amounts are whole yen without 消費税.

#include <cstdint>
#include <string>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// One year's rules.
struct SubsidyYear {
  int year = 0;
  std::string program;
  int64_t lower = 0, upper = 0;  ///< bounds of the subsidy amount
  int64_t rate_num = 1, rate_den = 2;
  int64_t small_num = 0, small_den = 0;  ///< 小規模事業者 rate; 0/0: the same as rate
  int64_t max_months = 24;               ///< months of fees that count
  bool initial_fee_eligible = true;
};

/// What to estimate.
struct SubsidyRequest {
  int year = 0;
  int64_t monthly_fee = 0, per_device_fee = 0, devices = 1, initial_fee = 0, months = 24;
  bool small_business = false;
};

/// The estimate.
struct SubsidyEstimate {
  SubsidyYear rules;
  SubsidyRequest request;
  int64_t rate_num = 1, rate_den = 2;
  int64_t monthly_total = 0;    ///< monthly fee + per-device fee × devices
  int64_t eligible_months = 0;  ///< min(months, max_months)
  int64_t eligible_cost = 0;    ///< fees that count
  int64_t total_cost = 0;       ///< every fee over `months`
  int64_t computed = 0;         ///< eligible_cost × rate, rounded down
  int64_t subsidy = 0;          ///< after the bounds
  int64_t customer_share = 0;   ///< total_cost − subsidy
  std::string outcome;          ///< below_lower_bound, capped, within_bounds
  std::vector<std::string> notes_ja;
};

/// The years known, oldest first.
const std::vector<SubsidyYear>& subsidy_years();
/// The estimate; an unknown year, a negative amount, 0 devices or a term of 0 months is an
/// Error (code 400) naming the field.
core::Result<SubsidyEstimate> estimate_subsidy(const SubsidyRequest& request);
/// The estimate as a JSON object's text.
std::string subsidy_to_json(const SubsidyEstimate& e);
/// The estimate as lines for a person (Japanese).
std::string subsidy_text(const SubsidyEstimate& e);

}  // namespace mimamori::server
