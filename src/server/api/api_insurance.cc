// 簡易サイバー保険: the policy of a contract, claims of an incident with their computed amounts,
// and the claim package as JSON and as a PDF (rendered on the report pool).

#include "api/json_body.h"
#include "insurance/insurance.h"

namespace mimamori::server {
namespace {

bool only_known(Call& call, const json::object& o, const std::vector<std::string_view>& known) {
  for (const auto& [k, v] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(k)) == known.end()) {
      std::string list;
      for (auto x : known) list += (list.empty() ? "" : ", ") + std::string(x);
      call.error(400, fmt::format("member '{}' is unknown ({})", std::string_view(k), list));
      return false;
    }
  }
  return true;
}

json::object policy_json(const InsurancePolicy& p) {
  json::array items;
  for (const auto& c : p.items) {
    items.push_back(json::object{{"item", c.item},
                                 {"name", std::string(coverage_item_name(c.item))},
                                 {"limit", c.limit},
                                 {"deductible", c.deductible}});
  }
  return json::object{{"id", p.id},
                      {"contract_id", p.contract_id},
                      {"customer_id", p.customer_id},
                      {"insurer", jstr(p.insurer)},
                      {"policy_number", jstr(p.policy_number)},
                      {"start_date", p.start_date},
                      {"end_date", p.end_date},
                      {"items", std::move(items)},
                      {"customer_text", jstr(p.customer_text)},
                      {"created_at", jtime(p.created_at)},
                      {"updated_at", jtime(p.updated_at)}};
}

json::object amounts_json(const ClaimAmounts& a) {
  json::array items;
  for (const auto& t : a.items) {
    items.push_back(json::object{{"item", t.item},
                                 {"name", std::string(coverage_item_name(t.item))},
                                 {"in_policy", t.in_policy},
                                 {"limit", t.limit},
                                 {"deductible", t.deductible},
                                 {"claimed", t.claimed},
                                 {"covered", t.covered},
                                 {"customer_borne", t.customer_borne}});
  }
  json::array why;
  for (const auto& s : a.not_covered_ja) why.push_back(jstr(s));
  return json::object{{"claimed", a.claimed},
                      {"covered", a.covered},
                      {"customer_borne", a.customer_borne},
                      {"items", std::move(items)},
                      {"not_covered", std::move(why)}};
}

json::object claim_json(const Claim& c, const ClaimAmounts& a) {
  json::array lines;
  for (size_t i = 0; i < c.lines.size(); ++i) {
    const auto& l = c.lines[i];
    const auto& la = a.lines[i];
    lines.push_back(json::object{{"id", l.id},
                                 {"description", jstr(l.description)},
                                 {"item", l.item},
                                 {"item_name", std::string(coverage_item_name(l.item))},
                                 {"incurred_on", l.incurred_on},
                                 {"amount", l.amount},
                                 {"covered", la.covered},
                                 {"customer_borne", la.customer_borne},
                                 {"deductible_applied", la.deductible_applied},
                                 {"over_limit", la.over_limit},
                                 {"reason", jstr(la.reason_ja)},
                                 {"created_by", jstr(l.created_by)},
                                 {"created_at", jtime(l.created_at)}});
  }
  json::array tickets;
  for (const auto& t : c.ticket_ids) tickets.push_back(jstr(t));
  return json::object{{"id", c.id},
                      {"incident_id", c.incident_id},
                      {"customer_id", c.customer_id},
                      {"contract_id", c.contract_id},
                      {"policy_id", c.policy_id},
                      {"status", c.status},
                      {"status_name", std::string(claim_status_ja(c.status))},
                      {"note", jstr(c.note)},
                      {"ticket_ids", std::move(tickets)},
                      {"created_by", jstr(c.created_by)},
                      {"created_at", jtime(c.created_at)},
                      {"updated_at", jtime(c.updated_at)},
                      {"submitted_at", jtime(c.submitted_at)},
                      {"decided_at", jtime(c.decided_at)},
                      {"lines", std::move(lines)},
                      {"amounts", amounts_json(a)}};
}

// A claim with its amounts under its policy, answered with `status`.
void claim_answer(Call& call, int status, const Claim& c) {
  auto pol = claim_policy(*call.store, call.principal, c);
  if (!pol.ok()) return call.error(pol.error());
  json::object o = claim_json(c, compute_claim(*pol, c.lines));
  o["policy"] = policy_json(*pol);
  call.json(status, to_text(o));
}

}  // namespace

void h_get_policy(Call& call) {
  auto r = get_policy(*call.store, call.principal, call.param("id"));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(policy_json(*r)));
}

void h_put_policy(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  if (!only_known(
          call, *o,
          {"insurer", "policy_number", "start_date", "end_date", "items", "customer_text"})) {
    return;
  }
  std::string err;
  InsurancePolicy p;
  p.insurer = get_string(*o, "insurer", &err);
  p.policy_number = get_string(*o, "policy_number", &err);
  p.start_date = get_string(*o, "start_date", &err);
  p.end_date = get_string(*o, "end_date", &err);
  p.customer_text = get_string(*o, "customer_text", &err);
  if (!err.empty()) return call.error(400, err);
  auto* items = o->if_contains("items");
  if (!items || !items->is_array()) {
    return call.error(400, "member 'items' must be an array of {item, limit, deductible}");
  }
  for (size_t i = 0; i < items->as_array().size(); ++i) {
    const auto& x = items->as_array()[i];
    if (!x.is_object()) {
      return call.error(400, fmt::format("member 'items[{}]' must be an object", i));
    }
    const auto& io = x.as_object();
    for (const auto& [k, v] : io) {
      if (k != "item" && k != "limit" && k != "deductible") {
        return call.error(400, fmt::format("member 'items[{}].{}' is unknown (item, limit, "
                                           "deductible)",
                                           i, std::string_view(k)));
      }
    }
    CoverageItem c;
    std::string e;
    c.item = get_string(io, "item", &e);
    if (!io.contains("limit")) {
      return call.error(400, fmt::format("member 'items[{}].limit' is required (yen)", i));
    }
    c.limit = get_int(io, "limit", 0, &e);
    c.deductible = get_int(io, "deductible", 0, &e);
    if (!e.empty()) return call.error(400, fmt::format("in 'items[{}]': {}", i, e));
    p.items.push_back(c);
  }
  auto r = put_policy(*call.store, call.principal, call.param("id"), std::move(p));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(policy_json(*r)));
}

void h_list_claims(Call& call) {
  auto r = list_claims(*call.store, call.principal, call.param("id"));
  if (!r.ok()) return call.error(r.error());
  json::array items;
  for (const auto& c : *r) {
    auto pol = claim_policy(*call.store, call.principal, c);
    if (!pol.ok()) return call.error(pol.error());
    json::object o = claim_json(c, compute_claim(*pol, c.lines));
    o["policy"] = policy_json(*pol);
    items.push_back(std::move(o));
  }
  call.json(200, to_text(json::object{{"items", std::move(items)}}));
}

void h_create_claim(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  if (!only_known(call, *o, {"policy_id", "ticket_ids"})) return;
  std::string err;
  const std::string policy_id = get_string(*o, "policy_id", &err);
  if (!err.empty()) return call.error(400, err);
  std::vector<std::string> tickets;
  if (auto* t = o->if_contains("ticket_ids"); t && !t->is_null()) {
    if (!t->is_array()) return call.error(400, "member 'ticket_ids' must be an array of ids");
    for (const auto& x : t->as_array()) {
      if (!x.is_string()) return call.error(400, "member 'ticket_ids' must be an array of ids");
      tickets.emplace_back(x.as_string());
    }
  }
  auto r = create_claim(*call.store, call.principal, call.param("id"), policy_id, tickets);
  if (!r.ok()) return call.error(r.error());
  claim_answer(call, 201, *r);
}

void h_get_claim(Call& call) {
  auto r = get_claim(*call.store, call.principal, call.param("id"), call.param("claim"));
  if (!r.ok()) return call.error(r.error());
  claim_answer(call, 200, *r);
}

void h_add_claim_line(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  if (!only_known(call, *o, {"description", "item", "amount", "incurred_on"})) return;
  std::string err;
  CostLine l;
  l.description = get_string(*o, "description", &err);
  l.item = get_string(*o, "item", &err);
  l.incurred_on = get_string(*o, "incurred_on", &err);
  if (!o->contains("amount")) return call.error(400, "member 'amount' is required (whole yen)");
  l.amount = get_int(*o, "amount", 0, &err);
  if (!err.empty()) return call.error(400, err);
  auto r = add_cost_line(*call.store, call.principal, call.param("id"), call.param("claim"),
                         std::move(l));
  if (!r.ok()) return call.error(r.error());
  claim_answer(call, 201, *r);
}

void h_remove_claim_line(Call& call) {
  auto r = remove_cost_line(*call.store, call.principal, call.param("id"), call.param("claim"),
                            call.param("line"));
  if (!r.ok()) return call.error(r.error());
  claim_answer(call, 200, *r);
}

void h_claim_status(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  if (!only_known(call, *o, {"status", "note"})) return;
  std::string err;
  const std::string status = get_string(*o, "status", &err);
  const std::string note = get_string(*o, "note", &err);
  if (!err.empty()) return call.error(400, err);
  if (status.empty())
    return call.error(400, "member 'status' is required (submitted, paid, denied)");
  auto r = change_claim_status(*call.store, call.principal, call.param("id"), call.param("claim"),
                               status, note);
  if (!r.ok()) return call.error(r.error());
  claim_answer(call, 200, *r);
}

void h_claim_package(Call& call) {
  auto pkg =
      gather_claim_package(*call.store, call.principal, call.param("id"), call.param("claim"));
  if (!pkg.ok()) return call.error(pkg.error());
  json::array timeline;
  for (const auto& e : pkg->timeline) {
    timeline.push_back(json::object{{"at", jtime(e.at)},
                                    {"stage", e.kind},
                                    {"stage_name", std::string(stage_ja(e.kind))},
                                    {"actor", jstr(e.actor)},
                                    {"text", jstr(e.text)}});
  }
  json::array evidence;
  for (const auto& e : pkg->evidence) {
    evidence.push_back(json::object{{"kind", e.kind},
                                    {"name", jstr(e.name)},
                                    {"sha256", e.sha256},
                                    {"size", e.size},
                                    {"at", jtime(e.at)}});
  }
  json::object o{{"claim", claim_json(pkg->claim, pkg->amounts)},
                 {"policy", policy_json(pkg->policy)},
                 {"customer_name", jstr(pkg->customer_name)},
                 {"incident", json::object{{"id", pkg->claim.incident_id},
                                           {"title", jstr(pkg->incident_title)},
                                           {"severity", pkg->incident_severity},
                                           {"status", pkg->incident_status},
                                           {"created_at", jtime(pkg->incident_created_at)}}},
                 {"timeline", std::move(timeline)},
                 {"evidence", std::move(evidence)},
                 {"totals", json::object{{"claimed", pkg->amounts.claimed},
                                         {"covered", pkg->amounts.covered},
                                         {"customer_borne", pkg->amounts.customer_borne}}},
                 {"generated_at", jtime(pkg->generated_at)}};
  call.json(200, to_text(o));
}

void h_claim_package_pdf(Call& call) {
  auto keep = std::make_shared<Call>(std::move(call));
  bool queued = keep->api->report_pool().submit([keep] {
    try {
      auto pkg = gather_claim_package(*keep->store, keep->principal, keep->param("id"),
                                      keep->param("claim"));
      if (!pkg.ok()) return keep->error(pkg.error());
      HttpResponse r;
      r.body = render_claim_package(*pkg);
      r.content_type = "application/pdf";
      // The file name is ours (the claim's id), never the customer's text.
      r.headers.emplace_back(
          "Content-Disposition",
          fmt::format("attachment; filename=\"mimamori-claim-{}.pdf\"", pkg->claim.id));
      r.headers.emplace_back("Cache-Control", "no-store");
      keep->api->record(*keep, 200);
      keep->respond(std::move(r));
    } catch (const std::exception& e) {
      keep->error(500, fmt::format("internal error: {}", e.what()));
    }
  });
  if (!queued) {
    keep->json(429, "{\"error\":\"the server is busy writing documents; try again shortly\"}",
               {{"Retry-After", "2"}});
  }
}

}  // namespace mimamori::server
