#pragma once
// Helpers shared by the files of insurance/ only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "insurance/insurance.h"

namespace mimamori::server {

/// YYYY-MM-DD with a real month and day.
bool valid_ymd(std::string_view d);
/// Coverage items as JSON text and back.
std::string items_json(const std::vector<CoverageItem>& items);
std::vector<CoverageItem> items_from_json(const std::string& text);
/// The columns of insurance_policies in the order policy_from_row reads them.
extern const char* const kPolicyColumnList;
InsurancePolicy policy_from_row(const SqlRows& r, size_t i);
/// The policy whose `column` is `value` (nullopt when none).
Result<std::optional<InsurancePolicy>> read_policy(SqlTx& tx, std::string_view column,
                                                   std::string_view value);
/// The customer of a contract after the access check of `p` (404 for another tenant's).
Result<std::string> contract_customer(Store& store, const Principal& p,
                                      std::string_view contract_id, bool write,
                                      std::string_view action);

/// The customer of an incident after the access check of `p` (see claims.cc).
Result<std::string> incident_customer(Store& store, const Principal& p,
                                      std::string_view incident_id, bool write,
                                      std::string_view action);

}  // namespace mimamori::server
