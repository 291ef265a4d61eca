// Plans as JSON (the API) and YAML (plan files of `mimamori plan check`): one reader over a
// Boost.JSON object, so both forms take the same members and give the same errors.

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>

#include "mimamori/server/plan.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

// The largest amount accepted (¥1,000,000,000): far beyond any plan, small enough that no sum
// over a contract overflows.
constexpr int64_t kMaxAmount = 1000000000;

core::Error bad(std::string_view where, std::string_view field, std::string_view why) {
  return core::make_error_code(400, "{}: member '{}' {}", where, field, why);
}

struct Reader {
  const json::object& o;
  std::string where;
  std::string prefix;  // "terms." inside the terms object

  core::Result<std::string> str(std::string_view key) const {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::string();
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_int64() || v->is_uint64()) return json::serialize(*v);  // YAML's 12345
    return bad(where, prefix + std::string(key), "must be text");
  }
  core::Result<int64_t> amount(std::string_view key, int64_t fallback, int64_t min) const {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return fallback;
    int64_t n = 0;
    if (v->is_int64()) {
      n = v->as_int64();
    } else if (v->is_uint64()) {
      n = v->as_uint64() > static_cast<uint64_t>(kMaxAmount) ? kMaxAmount + 1 : 0;
    } else if (v->is_double()) {
      return bad(where, prefix + std::string(key),
                 fmt::format("must be a whole number, got {}", json::serialize(*v)));
    } else {
      return bad(where, prefix + std::string(key), "must be a whole number");
    }
    if (n < min) {
      return bad(where, prefix + std::string(key),
                 min == 0 ? fmt::format("must not be negative, got {}", n)
                          : fmt::format("must be at least {}, got {}", min, n));
    }
    if (n > kMaxAmount) {
      return bad(where, prefix + std::string(key), fmt::format("is over {}", kMaxAmount));
    }
    return n;
  }
  core::Result<bool> flag(std::string_view key, bool fallback) const {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return fallback;
    if (v->is_bool()) return v->as_bool();
    return bad(where, prefix + std::string(key), "must be true or false");
  }
  core::Status only(std::initializer_list<std::string_view> known) const {
    for (const auto& [k, v] : o) {
      bool found = false;
      for (auto name : known) found = found || name == k;
      if (!found) {
        std::string list;
        for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
        return bad(where, prefix + std::string(k), fmt::format("is unknown (known: {})", list));
      }
    }
    return {};
  }
};

// Takes a member's value into `var`, or returns the member's error.
#define MM_TRY(var, expr)                \
  do {                                   \
    auto mm_r = (expr);                  \
    if (!mm_r.ok()) return mm_r.error(); \
    var = std::move(*mm_r);              \
  } while (0)

core::Result<Plan> plan_from_object(const json::object& o, std::string_view where) {
  Reader r{o, std::string(where), ""};
  if (auto st = r.only({"id",
                        "name",
                        "type",
                        "class",
                        "monthly_fee",
                        "per_device_fee",
                        "initial_fee",
                        "prices_include_tax",
                        "min_devices",
                        "max_devices",
                        "min_term_months",
                        "desk_hours",
                        "dispatch",
                        "dispatch_arrival_hours",
                        "insurance_coverage",
                        "consulting",
                        "terms",
                        "desk_sla",
                        "status",
                        "created_at",
                        "updated_at",
                        "type_ja"});
      !st.ok()) {
    return st.error();
  }
  Plan p;
  std::string type, status;
  MM_TRY(p.id, r.str("id"));
  MM_TRY(p.name, r.str("name"));
  if (p.name.empty()) return bad(where, "name", "is required");
  if (p.name.size() > 200) return bad(where, "name", "is longer than 200 bytes");
  MM_TRY(type, r.str("type"));
  if (type == "network" || type == "ネットワーク一括監視型") {
    p.type = PlanType::kNetwork;
  } else if (type == "endpoint" || type == "端末監視型") {
    p.type = PlanType::kEndpoint;
  } else if (type == "combined" || type == "併用型") {
    p.type = PlanType::kCombined;
  } else {
    return bad(where, "type",
               type.empty() ? "is required (network, endpoint or combined)"
                            : fmt::format("'{}' is unknown (network, endpoint or combined)", type));
  }
  int64_t klass = 0;
  MM_TRY(klass, r.amount("class", 1, 1));
  if (klass != 1 && klass != 2) {
    return bad(where, "class", fmt::format("must be 1 (1類) or 2 (2類), got {}", klass));
  }
  p.service_class = static_cast<int>(klass);
  MM_TRY(p.monthly_fee, r.amount("monthly_fee", 0, 0));
  MM_TRY(p.per_device_fee, r.amount("per_device_fee", 0, 0));
  MM_TRY(p.initial_fee, r.amount("initial_fee", 0, 0));
  MM_TRY(p.prices_include_tax, r.flag("prices_include_tax", false));
  MM_TRY(p.min_devices, r.amount("min_devices", 1, 1));
  MM_TRY(p.max_devices, r.amount("max_devices", 0, 0));
  if (p.max_devices != 0 && p.max_devices < p.min_devices) {
    return bad(where, "max_devices",
               fmt::format("({}) is below min_devices ({}); 0 means no limit", p.max_devices,
                           p.min_devices));
  }
  if (p.monthly_fee == 0 && p.per_device_fee == 0) {
    return bad(where, "monthly_fee",
               "and per_device_fee are both 0 or missing: a plan has a price");
  }
  MM_TRY(p.min_term_months, r.amount("min_term_months", 12, 1));
  if (p.min_term_months > 120) {
    return bad(where, "min_term_months", fmt::format("is over 120, got {}", p.min_term_months));
  }
  MM_TRY(p.desk_hours, r.str("desk_hours"));
  MM_TRY(p.dispatch, r.str("dispatch"));
  MM_TRY(p.dispatch_arrival_hours, r.amount("dispatch_arrival_hours", 0, 0));
  MM_TRY(p.insurance_coverage, r.amount("insurance_coverage", 0, 0));
  MM_TRY(p.consulting, r.str("consulting"));
  if (auto* t = o.if_contains("terms"); t && !t->is_null()) {
    if (!t->is_object()) return bad(where, "terms", "must be an object");
    Reader tr{t->as_object(), std::string(where), "terms."};
    if (auto st = tr.only({"initial_fee", "term", "cancellation_penalty", "right_to_cancel"});
        !st.ok()) {
      return st.error();
    }
    MM_TRY(p.terms.initial_fee, tr.str("initial_fee"));
    MM_TRY(p.terms.term, tr.str("term"));
    MM_TRY(p.terms.cancellation_penalty, tr.str("cancellation_penalty"));
    MM_TRY(p.terms.right_to_cancel, tr.str("right_to_cancel"));
  }
  if (auto* t = o.if_contains("desk_sla"); t && !t->is_null()) {
    if (!t->is_object()) return bad(where, "desk_sla", "must be an object");
    Reader sr{t->as_object(), std::string(where), "desk_sla."};
    if (auto st = sr.only({"first_response_minutes", "resolution_minutes",
                           "security_first_response_minutes", "security_resolution_minutes"});
        !st.ok()) {
      return st.error();
    }
    auto& s = p.desk_sla;
    MM_TRY(s.first_response_minutes, sr.amount("first_response_minutes", 0, 1));
    MM_TRY(s.resolution_minutes, sr.amount("resolution_minutes", 0, 1));
    MM_TRY(s.security_first_response_minutes, sr.amount("security_first_response_minutes", 0, 1));
    MM_TRY(s.security_resolution_minutes, sr.amount("security_resolution_minutes", 0, 1));
    // A clock of more than a year is a typo (minutes for seconds).
    for (auto [name, v] : {std::pair{"first_response_minutes", s.first_response_minutes},
                           {"resolution_minutes", s.resolution_minutes},
                           {"security_first_response_minutes", s.security_first_response_minutes},
                           {"security_resolution_minutes", s.security_resolution_minutes}}) {
      if (v > 366 * 24 * 60) {
        return bad(where, std::string("desk_sla.") + name,
                   fmt::format("is over a year ({} minutes), got {}", 366 * 24 * 60, v));
      }
    }
    // Resolution never comes before the first response (a missing one is the default).
    auto pick = [](int64_t v, int64_t fallback) { return v ? v : fallback; };
    const int64_t first = pick(s.first_response_minutes, kDefaultFirstResponseMinutes);
    const int64_t resolution = pick(s.resolution_minutes, kDefaultResolutionMinutes);
    if (resolution < first) {
      return bad(where, "desk_sla.resolution_minutes",
                 fmt::format("({}) is shorter than the first response ({})", resolution, first));
    }
    const int64_t sfirst =
        pick(s.security_first_response_minutes, kDefaultSecurityFirstResponseMinutes);
    const int64_t sresolution =
        pick(s.security_resolution_minutes, kDefaultSecurityResolutionMinutes);
    if (sresolution < sfirst) {
      return bad(where, "desk_sla.security_resolution_minutes",
                 fmt::format("({}) is shorter than the security first response ({})", sresolution,
                             sfirst));
    }
  }
  MM_TRY(status, r.str("status"));
  if (status.empty()) status = "draft";
  if (status != "draft" && status != "registered" && status != "withdrawn") {
    return bad(where, "status",
               fmt::format("'{}' is unknown (draft, registered, withdrawn)", status));
  }
  p.status = status;
  return p;
}

// A YAML scalar as JSON: integers and true/false as such, everything else as text.
json::value from_yaml(const YAML::Node& n, const std::string& path, std::string* error) {
  if (n.IsMap()) {
    json::object o;
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      o[key] = from_yaml(kv.second, path.empty() ? key : path + "." + key, error);
    }
    return o;
  }
  if (n.IsSequence()) {
    json::array a;
    for (const auto& x : n) a.push_back(from_yaml(x, path, error));
    return a;
  }
  if (n.IsNull()) return nullptr;
  const std::string s = n.as<std::string>();
  if (n.Tag() == "!") return json::string(s);  // quoted in the file: text
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) return v;
  if (s == "true" || s == "false") return s == "true";
  double d = 0;
  auto [pd, ecd] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ecd == std::errc() && pd == s.data() + s.size()) return d;
  return json::string(s);
}

}  // namespace

core::Result<Plan> parse_plan_json(std::string_view text, std::string_view where) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return core::make_error_code(400, "{}: not valid JSON: {}", where, ec.message());
  if (!v.is_object()) return core::make_error_code(400, "{}: a plan is a JSON object", where);
  return plan_from_object(v.as_object(), where);
}

core::Result<Plan> parse_plan_yaml(std::string_view text, std::string_view where) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return core::make_error_code(400, "{}:{}:{}: not valid YAML: {}", where, e.mark.line + 1,
                                 e.mark.column + 1, e.msg);
  }
  if (!root.IsMap()) return core::make_error_code(400, "{}: a plan file is a YAML mapping", where);
  std::string error;
  json::value v = from_yaml(root, "", &error);
  return plan_from_object(v.as_object(), where);
}

std::string plan_to_json(const Plan& p) {
  json::object o{{"id", p.id},
                 {"name", p.name},
                 {"type", plan_type_name(p.type)},
                 {"type_ja", plan_type_name_ja(p.type)},
                 {"class", p.service_class},
                 {"monthly_fee", p.monthly_fee},
                 {"per_device_fee", p.per_device_fee},
                 {"initial_fee", p.initial_fee},
                 {"prices_include_tax", p.prices_include_tax},
                 {"min_devices", p.min_devices},
                 {"max_devices", p.max_devices},
                 {"min_term_months", p.min_term_months},
                 {"desk_hours", p.desk_hours},
                 {"dispatch", p.dispatch},
                 {"dispatch_arrival_hours", p.dispatch_arrival_hours},
                 {"insurance_coverage", p.insurance_coverage},
                 {"consulting", p.consulting},
                 {"terms", json::object{{"initial_fee", p.terms.initial_fee},
                                        {"term", p.terms.term},
                                        {"cancellation_penalty", p.terms.cancellation_penalty},
                                        {"right_to_cancel", p.terms.right_to_cancel}}},
                 {"status", p.status}};
  const auto& s = p.desk_sla;
  json::object sla;
  if (s.first_response_minutes) sla["first_response_minutes"] = s.first_response_minutes;
  if (s.resolution_minutes) sla["resolution_minutes"] = s.resolution_minutes;
  if (s.security_first_response_minutes) {
    sla["security_first_response_minutes"] = s.security_first_response_minutes;
  }
  if (s.security_resolution_minutes) {
    sla["security_resolution_minutes"] = s.security_resolution_minutes;
  }
  if (!sla.empty()) o["desk_sla"] = std::move(sla);
  return json::serialize(o);
}

std::string compliance_to_json(const ComplianceReport& r) {
  json::array vs;
  for (const auto& v : r.violations) {
    vs.push_back(json::object{{"rule", v.rule},
                              {"requirement", v.requirement},
                              {"field", v.field},
                              {"value", v.value},
                              {"limit", v.limit},
                              {"message_ja", v.message_ja},
                              {"message_en", v.message_en}});
  }
  json::array checked;
  for (const auto& c : r.checked) checked.push_back(json::string(c));
  return json::serialize(json::object{{"compliant", r.compliant()},
                                      {"violations", std::move(vs)},
                                      {"checked", std::move(checked)}});
}

}  // namespace mimamori::server
