// Plans (with the compliance check of 要件 7) and contracts.

#include "api/json_body.h"
#include "contracts/contracts.h"
#include "mimamori/server/subsidy.h"

namespace mimamori::server {
namespace {

json::object policy_json(const PricePolicy& p) {
  return json::object{{"caps_include_tax", p.caps_include_tax},
                      {"tax_rate_percent", p.tax_rate_percent},
                      {"initial_fee", p.spread_initial_fee ? "spread" : "separate"}};
}

json::value parse(std::string_view text) { return json::parse(text); }

// The plan in the body, or an answer (415/400 naming the member) and nullopt.
std::optional<Plan> body_plan(Call& call) {
  if (!read_json_object(call)) return std::nullopt;
  auto plan = parse_plan_json(call.req.body, "body");
  if (!plan.ok()) {
    call.error(plan.error());
    return std::nullopt;
  }
  return std::move(*plan);
}

// 422 with every broken rule when a plan is to be saved as registered and fails the check.
bool refused_as_registered(Call& call, const Plan& plan) {
  if (plan.status != "registered") return false;
  auto report = check_plan(plan, call.api->options().price_policy);
  if (report.compliant()) return false;
  json::object o = parse(compliance_to_json(report)).as_object();
  o["error"] =
      jstr(fmt::format("plan '{}' cannot be registered: {}", plan.name, violations_text(report)));
  (void)call.store->audit(call.principal, "plan.register", "plan", plan.name, {}, {}, {},
                          "refused");
  call.json(422, to_text(o));
  return true;
}

void plan_answer(Call& call, int status, const Plan& p) {
  json::object o = parse(plan_to_json(p)).as_object();
  o["created_at"] = jtime(p.created_at);
  o["updated_at"] = jtime(p.updated_at);
  o["compliance"] = parse(compliance_to_json(check_plan(p, call.api->options().price_policy)));
  call.json(status, to_text(o));
}

}  // namespace

json::object to_json(const Contract& c) {
  json::array ids;
  for (const auto& d : c.device_ids) ids.push_back(jstr(d));
  return json::object{{"id", c.id},
                      {"customer_id", c.customer_id},
                      {"plan_id", c.plan_id},
                      {"devices", c.devices},
                      {"device_ids", std::move(ids)},
                      {"start_date", c.start_date},
                      {"end_date", c.end_date},
                      {"insurance_policy", jstr(c.insurance_policy)},
                      {"insurance_until", c.insurance_until},
                      {"status", c.status},
                      {"renewals", c.renewals},
                      {"created_at", jtime(c.created_at)}};
}

void h_check_plan(Call& call) {
  auto plan = body_plan(call);
  if (!plan) return;
  const auto& policy = call.api->options().price_policy;
  json::object o = parse(compliance_to_json(check_plan(*plan, policy))).as_object();
  o["policy"] = policy_json(policy);
  call.json(200, to_text(o));
}

void h_list_plans(Call& call) {
  auto plans = list_plans(*call.store, call.principal);
  if (!plans.ok()) return call.error(plans.error());
  json::array a;
  for (const auto& p : *plans) {
    json::object o = parse(plan_to_json(p)).as_object();
    o["compliant"] = check_plan(p, call.api->options().price_policy).compliant();
    a.push_back(std::move(o));
  }
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_create_plan(Call& call) {
  auto plan = body_plan(call);
  if (!plan) return;
  if (call.principal.role != Role::kProviderAdmin) {
    // The role check comes before the compliance answer: a refused role learns nothing.
    auto r = create_plan(*call.store, call.principal, *plan, call.api->options().price_policy);
    return call.error(r.error());
  }
  if (refused_as_registered(call, *plan)) return;
  auto r = create_plan(*call.store, call.principal, *plan, call.api->options().price_policy);
  if (!r.ok()) return call.error(r.error());
  plan_answer(call, 201, *r);
}

void h_get_plan(Call& call) {
  auto r = get_plan(*call.store, call.principal, call.param("id"));
  if (!r.ok()) return call.error(r.error());
  plan_answer(call, 200, *r);
}

void h_update_plan(Call& call) {
  auto plan = body_plan(call);
  if (!plan) return;
  if (call.principal.role == Role::kProviderAdmin && refused_as_registered(call, *plan)) return;
  auto r = update_plan(*call.store, call.principal, call.param("id"), *plan,
                       call.api->options().price_policy);
  if (!r.ok()) return call.error(r.error());
  plan_answer(call, 200, *r);
}

void h_list_contracts(Call& call) {
  auto r = list_contracts(*call.store, call.principal, call.req.query_param("customer_id"));
  if (!r.ok()) return call.error(r.error());
  call.json(200, list_json(*r));
}

void h_create_contract(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  static const std::vector<std::string_view> kKnown = {
      "customer_id", "plan_id",          "devices",         "device_ids", "start_date",
      "end_date",    "insurance_policy", "insurance_until", "status",     "renewals"};
  for (const auto& [k, v] : *o) {
    if (std::find(kKnown.begin(), kKnown.end(), std::string_view(k)) == kKnown.end()) {
      return call.error(400, fmt::format("member '{}' is unknown", std::string_view(k)));
    }
  }
  std::string err;
  Contract c;
  c.customer_id = get_string(*o, "customer_id", &err);
  c.plan_id = get_string(*o, "plan_id", &err);
  c.devices = get_int(*o, "devices", 1, &err);
  c.start_date = get_string(*o, "start_date", &err);
  c.end_date = get_string(*o, "end_date", &err);
  c.insurance_policy = get_string(*o, "insurance_policy", &err);
  c.insurance_until = get_string(*o, "insurance_until", &err);
  std::string status = get_string(*o, "status", &err);
  if (!status.empty()) c.status = status;
  c.renewals = get_int(*o, "renewals", 0, &err);
  if (auto* ids = o->if_contains("device_ids"); ids && !ids->is_null()) {
    if (!ids->is_array()) return call.error(400, "member 'device_ids' must be an array of ids");
    for (const auto& x : ids->as_array()) {
      if (!x.is_string()) return call.error(400, "member 'device_ids' must be an array of ids");
      c.device_ids.emplace_back(x.as_string());
    }
  }
  if (!err.empty()) return call.error(400, err);
  if (c.devices < 1) return call.error(400, "member 'devices' must be at least 1");
  auto r = create_contract(*call.store, call.principal, std::move(c));
  if (!r.ok()) return call.error(r.error());
  call.json(201, to_text(to_json(*r)));
}

void h_get_contract(Call& call) {
  auto r = get_contract(*call.store, call.principal, call.param("id"));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(to_json(*r)));
}

}  // namespace mimamori::server

namespace mimamori::server {

void h_subsidy(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  static const std::vector<std::string_view> kKnown = {
      "year",        "monthly_fee", "per_device_fee", "devices",
      "initial_fee", "months",      "small_business"};
  for (const auto& [k, v] : *o) {
    if (std::find(kKnown.begin(), kKnown.end(), std::string_view(k)) == kKnown.end()) {
      return call.error(400, fmt::format("member '{}' is unknown", std::string_view(k)));
    }
  }
  std::string err;
  SubsidyRequest q;
  q.year = static_cast<int>(get_int(*o, "year", 0, &err));
  if (!o->contains("year")) return call.error(400, "member 'year' is required");
  if (!o->contains("monthly_fee")) return call.error(400, "member 'monthly_fee' is required");
  q.monthly_fee = get_int(*o, "monthly_fee", 0, &err);
  q.per_device_fee = get_int(*o, "per_device_fee", 0, &err);
  q.devices = get_int(*o, "devices", 1, &err);
  q.initial_fee = get_int(*o, "initial_fee", 0, &err);
  q.months = get_int(*o, "months", 24, &err);
  if (auto* sb = o->if_contains("small_business"); sb && !sb->is_null()) {
    if (!sb->is_bool()) return call.error(400, "member 'small_business' must be true or false");
    q.small_business = sb->as_bool();
  }
  if (!err.empty()) return call.error(400, err);
  auto r = estimate_subsidy(q);
  if (!r.ok()) {
    // "field: why" from the estimate; the API names the member.
    const std::string& m = r.error().message;
    const size_t colon = m.find(':');
    return call.error(400, colon == std::string::npos
                               ? m
                               : fmt::format("member '{}'{}", m.substr(0, colon), m.substr(colon)));
  }
  call.json(200, subsidy_to_json(*r));
}

}  // namespace mimamori::server
