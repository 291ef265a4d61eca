#pragma once
// Plans and contracts in the store (要件 6 ワンパッケージ, 7 価格): provider-wide plans that every
// role may read and only a provider_admin writes, refused as "registered" while the compliance
// check finds a broken rule; contracts that bind a customer, a registered plan, the customer's
// devices and an insurance policy (tenant-scoped through Store::allow). The folder-level header
// of contracts/.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/plan.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// A customer's contract: one plan, its devices, the insurance policy, the dates.
struct Contract {
  std::string id, customer_id, plan_id;
  int64_t devices = 1;                  ///< contracted devices (the price is for these)
  std::vector<std::string> device_ids;  ///< the customer's devices it binds (may be fewer yet)
  std::string start_date, end_date;     ///< YYYY-MM-DD (JST); end empty: runs on
  std::string insurance_policy;         ///< policy number of the 簡易サイバー保険
  std::string insurance_until;          ///< YYYY-MM-DD the policy is in force until
  std::string status = "active";        ///< active, ended, cancelled
  int64_t renewals = 0;
  int64_t created_at = 0;
};

/// Creates a plan (provider_admin); a plan saved as `registered` must pass check_plan under
/// `policy`, else 422 naming every broken rule; audited.
Result<Plan> create_plan(Store& store, const Principal& p, Plan plan, const PricePolicy& policy);
/// Replaces a plan's contents (provider_admin), with the same check; audited.
Result<Plan> update_plan(Store& store, const Principal& p, std::string_view id, Plan plan,
                         const PricePolicy& policy);
/// Every plan (any signed-in user: customers compare them), by name.
Result<std::vector<Plan>> list_plans(Store& store, const Principal& p);
/// One plan.
Result<Plan> get_plan(Store& store, const Principal& p, std::string_view id);

/// Creates a contract for a customer (provider_admin): the plan must be registered, the device
/// count within the plan's limits, the devices the customer's own, the dates valid; audited.
Result<Contract> create_contract(Store& store, const Principal& p, Contract contract);
/// Contracts visible to `p` (of one customer when given), newest first.
Result<std::vector<Contract>> list_contracts(Store& store, const Principal& p,
                                             std::string_view customer_id);
/// One contract.
Result<Contract> get_contract(Store& store, const Principal& p, std::string_view id);

/// The Japanese messages of a report's violations, one a line (for errors and the CLI).
std::string violations_text(const ComplianceReport& report);

}  // namespace mimamori::server
