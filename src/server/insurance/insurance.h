#pragma once
// 簡易サイバー保険 (要件 5): the insurance policy of a contract (insurer, number, period, coverage
// items with limits and deductibles, the text that tells the customer what they still pay),
// claims raised from an incident (cost lines, covered and customer-borne amounts in integer
// yen, status draft → submitted → paid | denied on the incident's timeline), and the claim
// package (timeline, evidence with hashes, amounts) as data for JSON and as a Japanese PDF.
// Functions over the store, tenant-scoped through Store::allow and audited. The folder-level
// header of insurance/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// The coverage items every policy may name: key and Japanese name, in the order shown.
struct CoverageItemKind {
  std::string_view key, name_ja, example_ja;
};
inline constexpr CoverageItemKind kCoverageItems[] = {
    {"initial_response", "初動対応費用", "駆け付け・緊急対応など"},
    {"forensics", "フォレンジック調査費用", "原因・被害範囲の調査"},
    {"recovery", "復旧費用", "データ・システムの復旧"},
    {"liability", "損害賠償", "取引先などへの賠償"},
    {"notification", "通知・お詫び費用", "お客様への通知・お詫び状"},
};
/// The Japanese name of an item key ("" when unknown).
std::string_view coverage_item_name(std::string_view key);

/// One coverage item of a policy: a limit (the most paid for the item per claim) and a
/// deductible (what the customer pays first, once per item per claim), in yen.
struct CoverageItem {
  std::string item;  ///< a key of kCoverageItems
  int64_t limit = 0, deductible = 0;
};

/// The insurance policy of a contract.
struct InsurancePolicy {
  std::string id, contract_id, customer_id, insurer, policy_number;
  std::string start_date, end_date;  ///< YYYY-MM-DD (JST), both days included
  std::vector<CoverageItem> items;
  std::string customer_text;  ///< what the customer still pays, in the customer's words
  int64_t created_at = 0, updated_at = 0;
};

/// Checks a policy; the error (400) names the member and why.
Status check_policy(const InsurancePolicy& p);
/// Sets (creates or replaces) the policy of a contract (provider_admin); audited.
Result<InsurancePolicy> put_policy(Store& store, const Principal& p, std::string_view contract_id,
                                   InsurancePolicy policy);
/// The policy of a contract (404 when it has none).
Result<InsurancePolicy> get_policy(Store& store, const Principal& p, std::string_view contract_id);

/// One cost line of a claim, as entered by the provider.
struct CostLine {
  std::string id, description, item;
  std::string incurred_on;  ///< YYYY-MM-DD (JST) the cost arose
  int64_t amount = 0;       ///< yen
  std::string created_by;
  int64_t created_at = 0;
};

/// What the coverage arithmetic made of one line.
struct LineAmounts {
  int64_t covered = 0, customer_borne = 0;
  int64_t deductible_applied = 0;  ///< the part of the item's deductible taken from this line
  int64_t over_limit = 0;          ///< the part above the item's remaining limit
  std::string reason_ja;           ///< why part or all of it is the customer's ("" when none)
};

/// Totals of one coverage item within a claim.
struct ItemTotals {
  std::string item;
  int64_t claimed = 0, covered = 0, customer_borne = 0, deductible = 0, limit = 0;
  bool in_policy = false;
};

/// The arithmetic of a whole claim.
struct ClaimAmounts {
  std::vector<LineAmounts> lines;  ///< one per cost line, in the same order
  std::vector<ItemTotals> items;   ///< items with lines, in the order of kCoverageItems
  int64_t claimed = 0, covered = 0, customer_borne = 0;
  std::vector<std::string> not_covered_ja;  ///< plain-Japanese sentences, one per reason
};

/// Covered and customer-borne amounts of `lines` under `policy` (pure, integer yen): per item,
/// lines in the policy period are taken in order; the deductible comes off first, once per
/// item per claim; the covered sum stops at the item's limit. A line outside the period or of
/// an item the policy does not cover is the customer's in full.
ClaimAmounts compute_claim(const InsurancePolicy& policy, const std::vector<CostLine>& lines);

/// A claim. status: draft, submitted, paid, denied.
struct Claim {
  std::string id, incident_id, customer_id, contract_id, policy_id, status, note, created_by;
  std::vector<std::string> ticket_ids;  ///< desk tickets linked to it (the customer's own)
  int64_t created_at = 0, updated_at = 0, submitted_at = 0, decided_at = 0;
  std::vector<CostLine> lines;  ///< oldest first
};

/// Raises a draft claim from an incident (provider_admin, analyst) under the policy of the
/// customer's contract (`policy_id`, or the one in force on the incident's day, or the latest);
/// 409 when the customer has no policy. Audited and put on the incident's timeline.
Result<Claim> create_claim(Store& store, const Principal& p, std::string_view incident_id,
                           std::string_view policy_id, const std::vector<std::string>& ticket_ids);
/// Claims of an incident, newest first.
Result<std::vector<Claim>> list_claims(Store& store, const Principal& p,
                                       std::string_view incident_id);
/// One claim with its lines.
Result<Claim> get_claim(Store& store, const Principal& p, std::string_view incident_id,
                        std::string_view claim_id);
/// Adds a cost line to a draft claim (409 once submitted); audited.
Result<Claim> add_cost_line(Store& store, const Principal& p, std::string_view incident_id,
                            std::string_view claim_id, CostLine line);
/// Removes a cost line entered by mistake from a draft claim (409 once submitted); audited with
/// the line as it was.
Result<Claim> remove_cost_line(Store& store, const Principal& p, std::string_view incident_id,
                               std::string_view claim_id, std::string_view line_id);
/// Moves a claim to `status` (draft → submitted → paid | denied; anything else 409); audited and
/// put on the incident's timeline with `note`.
Result<Claim> change_claim_status(Store& store, const Principal& p, std::string_view incident_id,
                                  std::string_view claim_id, std::string_view status,
                                  std::string_view note);
/// The policy a claim was raised under (read inside the caller's access check).
Result<InsurancePolicy> claim_policy(Store& store, const Principal& p, const Claim& claim);

/// One line of a claim package's timeline. stage: detection, notification, remote, dispatch,
/// recovery, claim. Uses the model's TimelineEntry fields: at, actor, kind (the stage), text.
using PackageEntry = TimelineEntry;

/// The dispatch (駆け付け) steps of an incident for the package's timeline, kind "dispatch".
Result<std::vector<TimelineEntry>> dispatch_entries(SqlTx& tx, std::string_view customer_id,
                                                    std::string_view incident_id);

/// One piece of evidence with its SHA-256.
struct Evidence {
  std::string kind;  ///< event, attachment
  std::string name;  ///< device/seq and event type, or the file name
  std::string sha256;
  int64_t at = 0, size = 0;
};

/// Everything the claim package shows.
struct ClaimPackage {
  Claim claim;
  InsurancePolicy policy;
  std::string customer_name, incident_title, incident_severity, incident_status;
  int64_t incident_created_at = 0, generated_at = 0;
  std::vector<TimelineEntry> timeline;  ///< oldest first
  std::vector<Evidence> evidence;
  ClaimAmounts amounts;
};

/// Reads the package of a claim (customer roles only their own; others 404).
Result<ClaimPackage> gather_claim_package(Store& store, const Principal& p,
                                          std::string_view incident_id, std::string_view claim_id);
/// The package as PDF bytes (A4, Japanese).
std::string render_claim_package(const ClaimPackage& pkg);
/// `1,234,567円`.
std::string yen_ja(int64_t amount);
/// The Japanese name of a claim status.
std::string_view claim_status_ja(std::string_view status);
/// The Japanese name of a timeline stage.
std::string_view stage_ja(std::string_view stage);

}  // namespace mimamori::server
