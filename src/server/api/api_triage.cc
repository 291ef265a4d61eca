// Alerts, incidents (detail with timeline, actions), suppression rules, explanations.

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "triage/triage.h"

namespace mimamori::server {
namespace {

int64_t query_time(const HttpRequest& req, std::string_view name, std::string* err) {
  std::string v = req.query_param(name);
  if (v.empty()) return 0;
  auto t = core::parse_time(v);
  if (!t.ok()) {
    if (err->empty()) *err = fmt::format("query parameter '{}': {}", name, t.error().message);
    return 0;
  }
  return t->micros;
}

json::object explanation(std::string_view category) {
  const auto& c = Catalogue::get().find(category);
  return {{"category", c.name},
          {"title", c.title},
          {"what", c.what},
          {"danger", c.danger},
          {"action", c.action}};
}

}  // namespace

void h_list_alerts(Call& call) {
  AlertQuery q;
  const auto& r = call.req;
  std::string err;
  q.customer_id = r.query_param("customer_id");
  q.device_id = r.query_param("device_id");
  q.severity = r.query_param("severity");
  q.signature = r.query_param("signature");
  q.ip = r.query_param("ip");
  q.category = r.query_param("category");
  q.since = query_time(r, "since", &err);
  q.until = query_time(r, "until", &err);
  q.limit = query_int(r, "limit", 100);
  q.offset = query_int(r, "offset", 0);
  if (!err.empty()) return call.error(400, err);
  auto a = list_alerts(*call.store, call.principal, q);
  if (!a.ok()) return call.error(a.error());
  call.json(200, list_json(*a, q.limit, q.offset));
}

void h_get_alert(Call& call) {
  auto a = get_alert(*call.store, call.principal, call.param("id"));
  if (!a.ok()) return call.error(a.error());
  auto o = to_json(*a);
  o["explanation"] = explanation(a->category);
  call.json(200, to_text(o));
}

void h_alert_events(Call& call) {
  auto e = alert_events(*call.store, call.principal, call.param("id"),
                        query_int(call.req, "limit", 100));
  if (!e.ok()) return call.error(e.error());
  json::array a;
  for (const auto& line : *e) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    a.push_back(ec ? jstr(line) : std::move(v));
  }
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_list_incidents(Call& call) {
  IncidentQuery q;
  q.customer_id = call.req.query_param("customer_id");
  q.status = call.req.query_param("status");
  q.severity = call.req.query_param("severity");
  q.category = call.req.query_param("category");
  q.limit = query_int(call.req, "limit", 100);
  q.offset = query_int(call.req, "offset", 0);
  auto x = list_incidents(*call.store, call.principal, q);
  if (!x.ok()) return call.error(x.error());
  call.json(200, list_json(*x, q.limit, q.offset));
}

void h_overview(Call& call) {
  auto rows = overview_summary(*call.store, call.principal);
  if (!rows.ok()) return call.error(rows.error());
  json::array items;
  for (const auto& r : *rows) {
    items.push_back(json::object{{"customer_id", r.customer_id},
                                 {"name", r.name},
                                 {"open", r.open},
                                 {"open_high", r.open_high},
                                 {"devices", r.devices},
                                 {"silent", r.silent}});
  }
  call.json(200, to_text(json::object{{"items", std::move(items)}}));
}

void h_get_incident(Call& call) {
  const auto& id = call.param("id");
  auto x = get_incident(*call.store, call.principal, id);
  if (!x.ok()) return call.error(x.error());
  auto t = incident_timeline(*call.store, call.principal, id);
  if (!t.ok()) return call.error(t.error());
  auto a = incident_alerts(*call.store, call.principal, id);
  if (!a.ok()) return call.error(a.error());
  auto o = to_json(*x);
  json::array tl;
  for (const auto& e : *t) {
    tl.push_back(
        json::object{{"at", jtime(e.at)}, {"actor", e.actor}, {"kind", e.kind}, {"text", e.text}});
  }
  json::array al;
  for (const auto& r : *a) al.push_back(to_json(r));
  o["timeline"] = std::move(tl);
  o["alerts"] = std::move(al);
  o["explanation"] = explanation(x->category);
  call.json(200, to_text(o));
}

void h_incident_action(Call& call) {
  const auto& action = call.param("action");
  IncidentChange c;
  c.action = action;
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  if (action == "assign") {
    c.text = get_string(*o, "user_id", &err);
  } else if (action == "comment") {
    c.text = get_string(*o, "text", &err);
  } else if (action == "status") {
    c.text = get_string(*o, "status", &err);
  } else if (action == "close") {
    c.text = get_string(*o, "resolution", &err);
  } else if (action == "reopen") {
    c.text = get_string(*o, "reason", &err);
  } else if (action == "confirm") {
    c.text = get_string(*o, "state", &err);
    c.note = get_string(*o, "note", &err);
  } else if (action != "acknowledge") {
    return call.error(404, fmt::format("unknown incident action '{}' (acknowledge, assign, "
                                       "comment, status, close, reopen, confirm)",
                                       action));
  }
  if (!err.empty()) return call.error(400, err);
  auto x = change_incident(*call.store, call.principal, call.param("id"), c);
  if (!x.ok()) return call.error(x.error());
  call.json(200, to_text(to_json(*x)));
}

void h_list_suppressions(Call& call) {
  auto s = list_suppressions(*call.store, call.principal, call.req.query_param("customer_id"));
  if (!s.ok()) return call.error(s.error());
  call.json(200, list_json(*s));
}

void h_create_suppression(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  SuppressionRule r;
  r.customer_id = get_string(*o, "customer_id", &err);
  r.device_id = get_string(*o, "device_id", &err);
  r.signature_id = get_int(*o, "signature_id", 0, &err);
  r.signature = get_string(*o, "signature", &err);
  r.src_ip = get_string(*o, "src_ip", &err);
  r.dest_ip = get_string(*o, "dest_ip", &err);
  r.reason = get_string(*o, "reason", &err);
  std::string expires = get_string(*o, "expires_at", &err);
  if (!err.empty()) return call.error(400, err);
  if (!expires.empty()) {
    auto t = core::parse_time(expires);
    if (!t.ok()) return call.error(400, fmt::format("expires_at: {}", t.error().message));
    r.expires_at = t->micros;
  }
  if (r.customer_id.empty()) return call.error(400, "member 'customer_id' is missing");
  auto s = create_suppression(*call.store, call.principal, r);
  if (!s.ok()) return call.error(s.error());
  call.json(201, to_text(to_json(*s)));
}

void h_delete_suppression(Call& call) {
  auto st = delete_suppression(*call.store, call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, "{}");
}

void h_explanations(Call& call) {
  json::array a;
  for (const auto& c : Catalogue::get().categories()) {
    auto e = explanation(c.name);
    e["default_severity"] = c.severity;
    a.push_back(std::move(e));
  }
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_list_threats(Call& call) {
  auto t = call.store->list_threats(call.principal, call.req.query_param("all") == "1");
  if (!t.ok()) return call.error(t.error());
  call.json(200, list_json(*t));
}

void h_create_threat(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  ThreatIndicator t;
  t.value = get_string(*o, "value", &err);
  t.source = get_string(*o, "source", &err);
  t.reason = get_string(*o, "reason", &err);
  std::string expires = get_string(*o, "expires_at", &err);
  if (!err.empty()) return call.error(400, err);
  if (t.value.empty()) return call.error(400, "member 'value' is missing");
  if (!expires.empty()) {
    auto at = core::parse_time(expires);
    if (!at.ok()) return call.error(400, fmt::format("expires_at: {}", at.error().message));
    t.expires_at = at->micros;
  }
  auto r = call.store->create_threat(call.principal, std::move(t));
  if (!r.ok()) return call.error(r.error());
  call.json(201, to_text(to_json(*r)));
}

void h_remove_threat(Call& call) {
  auto st = call.store->remove_threat(call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, "{\"status\":\"removed\"}");
}

}  // namespace mimamori::server
