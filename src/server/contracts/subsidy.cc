// The IT導入補助金 estimate. The rules of each year come from subsidy_years.json (compiled in);
// the arithmetic is integer yen, rounded down where the subsidy is computed.

#include "mimamori/server/subsidy.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "mimamori/server/plan.h"

namespace mimamori::server {

extern const char kSubsidyYearsJson[];

namespace {

namespace json = boost::json;

constexpr int64_t kMaxAmount = 1000000000;
constexpr int64_t kMaxMonths = 120;
constexpr int64_t kMaxDevices = 100000;

std::vector<SubsidyYear> load_years() {
  // The file is part of the source: a broken one is a programmer error caught by every test.
  json::value doc = json::parse(kSubsidyYearsJson);
  std::vector<SubsidyYear> out;
  for (const auto& v : doc.at("years").as_array()) {
    const auto& o = v.as_object();
    SubsidyYear y;
    y.year = static_cast<int>(o.at("year").as_int64());
    y.program = std::string(o.at("program").as_string());
    y.lower = o.at("lower").as_int64();
    y.upper = o.at("upper").as_int64();
    y.rate_num = o.at("rate").as_array().at(0).as_int64();
    y.rate_den = o.at("rate").as_array().at(1).as_int64();
    if (auto* s = o.if_contains("small_business_rate")) {
      y.small_num = s->as_array().at(0).as_int64();
      y.small_den = s->as_array().at(1).as_int64();
    }
    y.max_months = o.at("max_months").as_int64();
    y.initial_fee_eligible = o.at("initial_fee_eligible").as_bool();
    out.push_back(std::move(y));
  }
  return out;
}

core::Error bad(std::string_view field, std::string_view why) {
  return core::make_error_code(400, "{}: {}", field, why);
}

}  // namespace

const std::vector<SubsidyYear>& subsidy_years() {
  static const std::vector<SubsidyYear> kYears = load_years();
  return kYears;
}

core::Result<SubsidyEstimate> estimate_subsidy(const SubsidyRequest& q) {
  const SubsidyYear* rules = nullptr;
  std::string known;
  for (const auto& y : subsidy_years()) {
    if (y.year == q.year) rules = &y;
    known += (known.empty() ? "" : ", ") + std::to_string(y.year);
  }
  if (!rules)
    return bad("year", fmt::format("{} is not a year with known rules ({})", q.year, known));
  for (auto [name, v] : {std::pair{"monthly_fee", q.monthly_fee},
                         {"per_device_fee", q.per_device_fee},
                         {"initial_fee", q.initial_fee}}) {
    if (v < 0) return bad(name, fmt::format("must not be negative, got {}", v));
    if (v > kMaxAmount) return bad(name, fmt::format("is over {}, got {}", kMaxAmount, v));
  }
  if (q.devices < 1 || q.devices > kMaxDevices) {
    return bad("devices", fmt::format("must be 1..{}, got {}", kMaxDevices, q.devices));
  }
  if (q.months < 1 || q.months > kMaxMonths) {
    return bad("months", fmt::format("must be 1..{} (a term of 0 months pays no fee), got {}",
                                     kMaxMonths, q.months));
  }
  if (q.monthly_fee == 0 && q.per_device_fee == 0) {
    return bad("monthly_fee", "and per_device_fee are both 0: there is no fee to subsidise");
  }
  SubsidyEstimate e;
  e.rules = *rules;
  e.request = q;
  e.rate_num = rules->rate_num;
  e.rate_den = rules->rate_den;
  if (q.small_business && rules->small_den > 0) {
    e.rate_num = rules->small_num;
    e.rate_den = rules->small_den;
  }
  e.monthly_total = q.monthly_fee + q.per_device_fee * q.devices;
  e.eligible_months = std::min(q.months, rules->max_months);
  e.eligible_cost =
      e.monthly_total * e.eligible_months + (rules->initial_fee_eligible ? q.initial_fee : 0);
  e.total_cost = e.monthly_total * q.months + q.initial_fee;
  e.computed = e.eligible_cost * e.rate_num / e.rate_den;
  if (e.computed < rules->lower) {
    e.subsidy = 0;
    e.outcome = "below_lower_bound";
    e.notes_ja.push_back(fmt::format("補助額 {} が下限 {} に届かないため、補助は受けられません。",
                                     yen(e.computed), yen(rules->lower)));
  } else if (e.computed > rules->upper) {
    e.subsidy = rules->upper;
    e.outcome = "capped";
    e.notes_ja.push_back(fmt::format("補助額 {} は上限 {} までに抑えられます。", yen(e.computed),
                                     yen(rules->upper)));
  } else {
    e.subsidy = e.computed;
    e.outcome = "within_bounds";
  }
  e.customer_share = e.total_cost - e.subsidy;
  if (q.months > rules->max_months) {
    e.notes_ja.push_back(fmt::format("補助の対象は最大{}か月分の利用料です（{}か月のうち）。",
                                     rules->max_months, q.months));
  }
  if (q.small_business && rules->small_den == 0) {
    e.notes_ja.push_back(fmt::format("{}年は小規模事業者の補助率の区別がなく、{}/{}です。", q.year,
                                     e.rate_num, e.rate_den));
  }
  if (q.initial_fee > 0 && !rules->initial_fee_eligible) {
    e.notes_ja.push_back("初期費用は補助の対象外として計算しています。");
  }
  e.notes_ja.push_back(
      "金額はすべて税抜です（消費税は補助の対象外）。実際の補助額は採択と交付決定によります。");
  return e;
}

std::string subsidy_to_json(const SubsidyEstimate& e) {
  json::array notes;
  for (const auto& n : e.notes_ja) notes.push_back(json::string(n));
  return json::serialize(json::object{{"year", e.rules.year},
                                      {"program", e.rules.program},
                                      {"rate", fmt::format("{}/{}", e.rate_num, e.rate_den)},
                                      {"lower_bound", e.rules.lower},
                                      {"upper_bound", e.rules.upper},
                                      {"small_business", e.request.small_business},
                                      {"monthly_total", e.monthly_total},
                                      {"months", e.request.months},
                                      {"eligible_months", e.eligible_months},
                                      {"initial_fee", e.request.initial_fee},
                                      {"eligible_cost", e.eligible_cost},
                                      {"total_cost", e.total_cost},
                                      {"computed", e.computed},
                                      {"subsidy", e.subsidy},
                                      {"customer_share", e.customer_share},
                                      {"outcome", e.outcome},
                                      {"notes_ja", std::move(notes)}});
}

std::string subsidy_text(const SubsidyEstimate& e) {
  std::string out =
      fmt::format("{}年 {}（補助率 {}/{}{}、補助額 {}〜{}）\n", e.rules.year, e.rules.program,
                  e.rate_num, e.rate_den, e.request.small_business ? "・小規模事業者" : "",
                  yen(e.rules.lower), yen(e.rules.upper));
  out += fmt::format("  月額利用料        {}\n", yen(e.monthly_total));
  out +=
      fmt::format("  補助対象経費      {}（{}か月分{}）\n", yen(e.eligible_cost), e.eligible_months,
                  e.request.initial_fee > 0 && e.rules.initial_fee_eligible ? "＋初期費用" : "");
  out += fmt::format("  補助額            {}\n", yen(e.subsidy));
  out += fmt::format("  お客様のご負担    {}（総額 {}、{}か月）\n", yen(e.customer_share),
                     yen(e.total_cost), e.request.months);
  for (const auto& n : e.notes_ja) out += "  ※ " + n + "\n";
  return out;
}

}  // namespace mimamori::server
