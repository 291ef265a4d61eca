#pragma once
/// Plans of an お助け隊 service and the price-compliance check of the registration standard
/// (要件 7 価格, with what 要件 1, 3, 5 and 6 ask of the one package), as plain values and pure
/// functions: the `mimamori plan check` command and the server's plan routes share them.
/// Amounts are whole yen. See docs/business.md for the rules and how tax and the initial fee
/// are treated.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// What a plan watches: the gateway (ネットワーク一括監視型), the PCs (端末監視型) or both
/// (併用型).
enum class PlanType { kNetwork, kEndpoint, kCombined };

/// `network`, `endpoint`, `combined`.
std::string_view plan_type_name(PlanType t);
/// ネットワーク一括監視型, 端末監視型, 併用型.
std::string_view plan_type_name_ja(PlanType t);

/// What the terms of a plan say (each must be written for a 1類 or 2類 plan).
struct PlanTerms {
  std::string initial_fee;           ///< how the initial fee is charged (初期費用)
  std::string term;                  ///< term and renewal conditions (契約期間の条件)
  std::string cancellation_penalty;  ///< early-cancellation penalty (中途解約の違約金)
  std::string right_to_cancel;       ///< the customer's right to cancel (解約の権利)
};

/// The desk's SLA targets when a plan names none, in minutes (ordinary questions: business time
/// on the desk's calendar; security incidents: around the clock).
inline constexpr int64_t kDefaultFirstResponseMinutes = 4 * 60;
inline constexpr int64_t kDefaultResolutionMinutes = 27 * 60;  // 3 business days of 9 hours
inline constexpr int64_t kDefaultSecurityFirstResponseMinutes = 60;
inline constexpr int64_t kDefaultSecurityResolutionMinutes = 24 * 60;

/// The desk's SLA terms of a plan (`desk_sla`), in minutes; 0: the default above.
struct PlanDeskSla {
  int64_t first_response_minutes = 0;
  int64_t resolution_minutes = 0;
  int64_t security_first_response_minutes = 0;
  int64_t security_resolution_minutes = 0;
};

/// A plan as a provider offers it.
struct Plan {
  std::string id, name;
  PlanType type = PlanType::kNetwork;
  int service_class = 1;               ///< 1 (1類) or 2 (2類)
  int64_t monthly_fee = 0;             ///< fixed monthly fee
  int64_t per_device_fee = 0;          ///< monthly fee per monitored device
  int64_t initial_fee = 0;             ///< once, at the start
  bool prices_include_tax = false;     ///< the amounts above include 消費税
  int64_t min_devices = 1;             ///< the smallest contract (devices)
  int64_t max_devices = 0;             ///< the largest contract (devices); 0: no limit
  int64_t min_term_months = 12;        ///< minimum contract term
  std::string desk_hours;              ///< 相談窓口 hours (要件 1)
  std::string dispatch;                ///< on-site support terms (要件 3)
  int64_t dispatch_arrival_hours = 0;  ///< promised arrival after a request; 0: not promised
  int64_t insurance_coverage = 0;      ///< 簡易サイバー保険 cover (要件 5)
  std::string consulting;              ///< periodic consulting (2類)
  PlanTerms terms;
  PlanDeskSla desk_sla;          ///< the desk's SLA targets (要件 1 相談窓口)
  std::string status = "draft";  ///< draft or registered
  int64_t created_at = 0, updated_at = 0;
};

/// How prices are compared with the caps (`contracts.*` in the server's configuration; flags of
/// `mimamori plan check`).
struct PricePolicy {
  /// The caps are amounts with 消費税 (false: without, the default reading of the standard).
  bool caps_include_tax = false;
  int tax_rate_percent = 10;  ///< 消費税 used to convert between the two
  /// The initial fee spread over the minimum term and added to each month (false: it is only
  /// disclosed, never counted against the monthly caps).
  bool spread_initial_fee = false;
};

/// One broken rule: which, where, the plan's value and the limit, in Japanese and English.
struct Violation {
  std::string rule;          ///< e.g. `price.endpoint`
  std::string requirement;   ///< e.g. `7 価格`
  std::string field;         ///< the plan's field, e.g. `per_device_fee`
  std::string value, limit;  ///< as shown (e.g. ¥2,500 / ¥2,000)
  std::string message_ja, message_en;
};

/// What the check found.
struct ComplianceReport {
  std::vector<Violation> violations;
  /// Rules that were evaluated (ids), in order; a reader sees what "compliant" covered.
  std::vector<std::string> checked;
  bool compliant() const { return violations.empty(); }
};

/// Checks a plan against the standard's rules for its class (docs/business.md lists them).
ComplianceReport check_plan(const Plan& plan, const PricePolicy& policy);

/// The plan's monthly charge for `devices` devices, in the caps' basis (tax as the policy says,
/// the initial fee spread when it says so), rounded up to the yen.
int64_t compared_monthly_charge(const Plan& plan, const PricePolicy& policy, int64_t devices);

/// Parses a plan from a JSON object's text; `where` names the source in errors (a file name or
/// "body"). Unknown members, negative amounts, a term of 0 months and unknown types are errors
/// that name the member (code 400).
core::Result<Plan> parse_plan_json(std::string_view text, std::string_view where);
/// Parses a plan from YAML text (the same members as the JSON form).
core::Result<Plan> parse_plan_yaml(std::string_view text, std::string_view where);
/// The plan as a JSON object's text.
std::string plan_to_json(const Plan& plan);
/// The report as a JSON object's text: {"compliant", "violations": [...], "checked": [...]}.
std::string compliance_to_json(const ComplianceReport& report);
/// ¥12,345.
std::string yen(int64_t amount);

}  // namespace mimamori::server
