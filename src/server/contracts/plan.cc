// The compliance check of a plan (要件 7 価格 and the one package of 要件 6). Each rule is one row
// of kRules, evaluated in order; docs/business.md is the reader's copy of the same table.

#include "mimamori/server/plan.h"

#include <fmt/format.h>

#include <functional>

namespace mimamori::server {
namespace {

// The 1類 caps of 要件 7 (OTASUKETAI.md): ¥10,000 a month for the network, ¥2,000 a device a
// month for endpoints, their sum for both.
constexpr int64_t kNetworkCap = 10000;
constexpr int64_t kEndpointCapPerDevice = 2000;
constexpr int64_t kMaxTermMonths = 24;
// 2類: network and combined plans cover at least 50 endpoints.
constexpr int64_t kClass2MinEndpoints = 50;
// The largest contract examined for a plan without a device limit.
constexpr int64_t kUnlimitedDevices = 1000000;

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// An amount of the plan (with or without tax, as the plan says) in the caps' basis, rounded up
// so that a plan one yen over a cap never passes by rounding.
int64_t to_cap_basis(int64_t amount, bool amount_has_tax, const PricePolicy& p) {
  if (amount_has_tax == p.caps_include_tax || p.tax_rate_percent == 0) return amount;
  if (amount_has_tax) return ceil_div(amount * 100, 100 + p.tax_rate_percent);
  return ceil_div(amount * (100 + p.tax_rate_percent), 100);
}

int64_t cap_for(PlanType t, int64_t devices) {
  switch (t) {
    case PlanType::kNetwork:
      return kNetworkCap;
    case PlanType::kEndpoint:
      return kEndpointCapPerDevice * devices;
    case PlanType::kCombined:
      return kNetworkCap + kEndpointCapPerDevice * devices;
  }
  return 0;
}

std::string tax_word_ja(const PricePolicy& p) {
  return p.caps_include_tax ? "（税込）" : "（税抜）";
}
std::string tax_word_en(const PricePolicy& p) {
  return p.caps_include_tax ? "with tax" : "before tax";
}

using RuleFn = std::function<void(const Plan&, const PricePolicy&, std::vector<Violation>&)>;

struct Rule {
  std::string_view id;
  bool class1, class2;  // whether the rule applies to 1類 / 2類 plans
  RuleFn fn;
};

// 要件 7: the monthly charge for n devices stays under the cap of the plan's type for every
// contract size the plan offers (min_devices..max_devices). The charge and the cap are both
// linear in n, so the first size over the cap is found at an end or by bisection.
void price_rule(const Plan& plan, const PricePolicy& pol, std::vector<Violation>& out) {
  const int64_t lo = std::max<int64_t>(plan.min_devices, 1);
  const int64_t hi = plan.max_devices > 0 ? std::max(plan.max_devices, lo) : kUnlimitedDevices;
  auto over = [&](int64_t n) {
    return compared_monthly_charge(plan, pol, n) > cap_for(plan.type, n);
  };
  int64_t n = 0;
  if (over(lo)) {
    n = lo;
  } else if (over(hi)) {
    int64_t a = lo, b = hi;  // over(a) false, over(b) true
    while (b - a > 1) {
      int64_t m = a + (b - a) / 2;
      (over(m) ? b : a) = m;
    }
    n = b;
  } else {
    return;
  }
  const int64_t value = compared_monthly_charge(plan, pol, n), limit = cap_for(plan.type, n);
  Violation v;
  v.requirement = "7 価格";
  v.value = yen(value);
  v.limit = yen(limit);
  const std::string spread =
      pol.spread_initial_fee && plan.initial_fee > 0
          ? fmt::format("（初期費用 {} を最低契約期間 {} か月で按分して含む）",
                        yen(plan.initial_fee), plan.min_term_months)
          : "";
  const std::string spread_en =
      pol.spread_initial_fee && plan.initial_fee > 0
          ? fmt::format(" (the initial fee of {} spread over the {}-month minimum term included)",
                        yen(plan.initial_fee), plan.min_term_months)
          : "";
  switch (plan.type) {
    case PlanType::kNetwork:
      v.rule = "price.network";
      v.field = plan.per_device_fee > 0 && n > lo ? "per_device_fee" : "monthly_fee";
      v.message_ja = fmt::format(
          "ネットワーク一括監視型の月額は{}{}以下でなければなりません。{}台の契約で月額 {}です{}。",
          yen(kNetworkCap), tax_word_ja(pol), n, v.value, spread);
      v.message_en =
          fmt::format("a network plan costs at most {} a month ({}); with {} devices it costs {}{}",
                      yen(kNetworkCap), tax_word_en(pol), n, v.value, spread_en);
      break;
    case PlanType::kEndpoint:
      v.rule = "price.endpoint";
      v.field = plan.monthly_fee > 0 && n == lo ? "monthly_fee" : "per_device_fee";
      v.message_ja = fmt::format(
          "端末監視型の月額は1台あたり{}{}以下（{}台で {}）でなければなりません。{}台の契約で月額 "
          "{}です{}。",
          yen(kEndpointCapPerDevice), tax_word_ja(pol), n, v.limit, n, v.value, spread);
      v.message_en = fmt::format(
          "an endpoint plan costs at most {} per device a month ({}), {} for {} devices; it "
          "costs {}{}",
          yen(kEndpointCapPerDevice), tax_word_en(pol), v.limit, n, v.value, spread_en);
      break;
    case PlanType::kCombined:
      v.rule = "price.combined";
      v.field = plan.per_device_fee > kEndpointCapPerDevice ? "per_device_fee" : "monthly_fee";
      v.message_ja = fmt::format(
          "併用型の月額は{} + 1台あたり{}{}以下（{}台で {}）でなければなりません。{}台の契約で"
          "月額 {}です{}。",
          yen(kNetworkCap), yen(kEndpointCapPerDevice), tax_word_ja(pol), n, v.limit, n, v.value,
          spread);
      v.message_en = fmt::format(
          "a combined plan costs at most {} + {} per device a month ({}), {} for {} devices; it "
          "costs {}{}",
          yen(kNetworkCap), yen(kEndpointCapPerDevice), tax_word_en(pol), v.limit, n, v.value,
          spread_en);
      break;
  }
  out.push_back(std::move(v));
}

void from_one_device(const Plan& plan, const PricePolicy&, std::vector<Violation>& out) {
  if (plan.min_devices <= 1) return;
  out.push_back(
      {"devices.from_one", "7 価格", "min_devices", fmt::format("{}台", plan.min_devices), "1台",
       fmt::format("1台から契約できなければなりません。最小契約台数が{}台です。", plan.min_devices),
       fmt::format("a plan must be contractable from one device; its smallest contract "
                   "is {} devices",
                   plan.min_devices)});
}

void term_rule(const Plan& plan, const PricePolicy&, std::vector<Violation>& out) {
  if (plan.min_term_months <= kMaxTermMonths) return;
  out.push_back({"term.max_24_months", "7 価格", "min_term_months",
                 fmt::format("{}か月", plan.min_term_months), fmt::format("{}か月", kMaxTermMonths),
                 fmt::format("最低契約期間は{}か月（2年）以内でなければなりません。{}か月です。",
                             kMaxTermMonths, plan.min_term_months),
                 fmt::format("the minimum term is at most {} months (2 years); it is {} months",
                             kMaxTermMonths, plan.min_term_months)});
}

// 要件 7: the terms state the initial fee, the term conditions, the penalty and the right to
// cancel.
RuleFn disclosed(std::string_view rule, std::string PlanTerms::*member, std::string_view field,
                 std::string_view what_ja, std::string_view what_en) {
  return [=](const Plan& plan, const PricePolicy&, std::vector<Violation>& out) {
    if (!(plan.terms.*member).empty()) return;
    out.push_back({std::string(rule), "7 価格", fmt::format("terms.{}", field), "記載なし",
                   "約款への記載",
                   fmt::format("{}を約款に明記しなければなりません。記載がありません。", what_ja),
                   fmt::format("the terms must state {}; they do not", what_en)});
  };
}

// 要件 6: one package binds the desk (1), on-site support (3) and insurance (5).
RuleFn package(std::string_view rule, std::string_view requirement, std::string_view field,
               std::function<bool(const Plan&)> present, std::string_view what_ja,
               std::string_view what_en) {
  return [=](const Plan& plan, const PricePolicy&, std::vector<Violation>& out) {
    if (present(plan)) return;
    out.push_back(
        {std::string(rule), std::string(requirement), std::string(field), "なし",
         "パッケージに含める",
         fmt::format("ワンパッケージには{}が含まれなければなりません。プランにありません。",
                     what_ja),
         fmt::format("the one package includes {}; the plan has none", what_en)});
  };
}

void class2_endpoints(const Plan& plan, const PricePolicy&, std::vector<Violation>& out) {
  if (plan.type == PlanType::kEndpoint) return;
  if (plan.max_devices == 0 || plan.max_devices >= kClass2MinEndpoints) return;
  out.push_back(
      {"class2.min_endpoints", "2類", "max_devices", fmt::format("{}台", plan.max_devices),
       fmt::format("{}台以上", kClass2MinEndpoints),
       fmt::format("2類の{}は{}台以上の端末を対象にしなければなりません。上限が{}台です。",
                   plan_type_name_ja(plan.type), kClass2MinEndpoints, plan.max_devices),
       fmt::format("a class 2 {} plan covers at least {} endpoints; its limit is {}",
                   plan_type_name(plan.type), kClass2MinEndpoints, plan.max_devices)});
}

const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      {"price", true, false, price_rule},
      {"devices.from_one", true, true, from_one_device},
      {"term.max_24_months", true, true, term_rule},
      {"terms.initial_fee", true, true,
       disclosed("terms.initial_fee", &PlanTerms::initial_fee, "initial_fee", "初期費用",
                 "the initial fee")},
      {"terms.term", true, true,
       disclosed("terms.term", &PlanTerms::term, "term", "契約期間の条件", "the term conditions")},
      {"terms.cancellation_penalty", true, true,
       disclosed("terms.cancellation_penalty", &PlanTerms::cancellation_penalty,
                 "cancellation_penalty", "中途解約の違約金", "the early-cancellation penalty")},
      {"terms.right_to_cancel", true, true,
       disclosed("terms.right_to_cancel", &PlanTerms::right_to_cancel, "right_to_cancel",
                 "利用者の解約の権利", "the customer's right to cancel")},
      {"package.desk", true, true,
       package(
           "package.desk", "1 相談窓口", "desk_hours",
           [](const Plan& p) { return !p.desk_hours.empty(); }, "相談窓口（受付時間）",
           "the help desk (its hours)")},
      {"package.dispatch", true, true,
       package(
           "package.dispatch", "3 緊急時の対応支援", "dispatch",
           [](const Plan& p) { return !p.dispatch.empty(); }, "駆け付け支援の条件",
           "the on-site support terms")},
      {"package.insurance", true, true,
       package(
           "package.insurance", "5 簡易サイバー保険", "insurance_coverage",
           [](const Plan& p) { return p.insurance_coverage > 0; }, "簡易サイバー保険",
           "the cyber insurance")},
      {"class2.min_endpoints", false, true, class2_endpoints},
      {"class2.consulting", false, true,
       package(
           "class2.consulting", "2類", "consulting",
           [](const Plan& p) { return !p.consulting.empty(); }, "定期的なコンサルティング",
           "periodic consulting")},
  };
  return kRules;
}

}  // namespace

std::string_view plan_type_name(PlanType t) {
  switch (t) {
    case PlanType::kNetwork:
      return "network";
    case PlanType::kEndpoint:
      return "endpoint";
    case PlanType::kCombined:
      return "combined";
  }
  return "network";
}

std::string_view plan_type_name_ja(PlanType t) {
  switch (t) {
    case PlanType::kNetwork:
      return "ネットワーク一括監視型";
    case PlanType::kEndpoint:
      return "端末監視型";
    case PlanType::kCombined:
      return "併用型";
  }
  return "ネットワーク一括監視型";
}

std::string yen(int64_t amount) {
  std::string digits = std::to_string(amount < 0 ? -amount : amount);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (amount < 0 ? "-¥" : "¥") + out;
}

int64_t compared_monthly_charge(const Plan& plan, const PricePolicy& policy, int64_t devices) {
  int64_t charge = plan.monthly_fee + plan.per_device_fee * devices;
  if (policy.spread_initial_fee && plan.initial_fee > 0 && plan.min_term_months > 0) {
    charge += ceil_div(plan.initial_fee, plan.min_term_months);
  }
  return to_cap_basis(charge, plan.prices_include_tax, policy);
}

ComplianceReport check_plan(const Plan& plan, const PricePolicy& policy) {
  ComplianceReport r;
  for (const auto& rule : rules()) {
    if (plan.service_class == 2 ? !rule.class2 : !rule.class1) continue;
    r.checked.emplace_back(rule.id);
    rule.fn(plan, policy, r.violations);
  }
  return r;
}

}  // namespace mimamori::server
