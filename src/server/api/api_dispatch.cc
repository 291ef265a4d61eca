// On-site dispatch (駆け付け): technician profiles, dispatches and their changes, evidence.
// Every POST that changes a dispatch takes an Idempotency-Key header (or a `client_id` member):
// the same key from the same user again answers what the first answered and changes nothing.

#include "api/json_body.h"
#include "dispatch/dispatch.h"
#include "mimamori/core/clock.h"

namespace mimamori::server {
namespace {

json::array str_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(jstr(s));
  return a;
}

bool read_strings(const json::object& o, std::string_view key, std::vector<std::string>& out,
                  std::string* err) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_array()) {
    *err = fmt::format("member '{}' must be an array of strings", key);
    return false;
  }
  for (const auto& x : v->as_array()) {
    if (!x.is_string()) {
      *err = fmt::format("member '{}' must be an array of strings", key);
      return false;
    }
    out.emplace_back(x.as_string());
  }
  return true;
}

json::object technician_json(const Technician& t) {
  return {{"user_id", t.user_id},
          {"email", jstr(t.email)},
          {"role", t.role},
          {"skills", str_array(t.skills)},
          {"prefectures", str_array(t.prefectures)},
          {"availability", str_array(t.availability)},
          {"active_dispatches", t.active},
          {"available_now", technician_available(t.availability, core::now().micros)},
          {"updated_at", jtime(t.updated_at)}};
}

json::object evidence_json(const DispatchEvidence& f) {
  return {{"id", f.id},
          {"filename", jstr(f.filename)},
          {"content_type", jstr(f.content_type)},
          {"sniffed_type", jstr(f.sniffed_type)},
          {"size", f.size},
          {"sha256", f.sha256},
          {"actor", jstr(f.actor)},
          {"created_at", jtime(f.created_at)}};
}

json::object dispatch_json(const Dispatch& d, bool full) {
  json::object o{
      {"id", d.id},
      {"customer_id", d.customer_id},
      {"incident_id", d.incident_id.empty() ? json::value(nullptr) : jstr(d.incident_id)},
      {"ticket_id", d.ticket_id.empty() ? json::value(nullptr) : jstr(d.ticket_id)},
      {"kind", d.kind},
      {"state", d.state},
      {"summary", jstr(d.summary)},
      {"remote", json::object{{"done", jstr(d.remote_done)},
                              {"outcome", d.remote_outcome.empty() ? json::value(nullptr)
                                                                   : jstr(d.remote_outcome)}}},
      {"prefecture", jstr(d.prefecture)},
      {"address", jstr(d.address)},
      {"skills", str_array(d.skills)},
      {"technician_id", d.technician_id.empty() ? json::value(nullptr) : jstr(d.technician_id)},
      {"technician_email",
       d.technician_email.empty() ? json::value(nullptr) : jstr(d.technician_email)},
      {"requested_at", jtime(d.requested_at)},
      {"promised_at", jtime(d.promised_at)},
      {"promise",
       d.promised_at == 0
           ? json::value(nullptr)
           : json::value(json::object{
                 {"hours", d.onsite_hours},
                 {"source", d.promise_source},
                 {"basis", d.promise_source == "config"
                               ? "dispatch.onsite_hours: wall-clock hours after the on-site "
                                 "request (the customer's plan names no arrival time)"
                               : "the plan's dispatch_arrival_hours: wall-clock hours after the "
                                 "on-site request"}})},
      {"late", d.promised_at != 0 && d.late_warned_at != 0},
      {"signoff", d.signoff_at == 0 ? json::value(nullptr)
                                    : json::value(json::object{{"name", jstr(d.signoff_name)},
                                                               {"at", jtime(d.signoff_at)}})},
      {"created_by", jstr(d.created_by)},
      {"created_at", jtime(d.created_at)},
      {"updated_at", jtime(d.updated_at)}};
  if (full) {
    json::array steps, files;
    for (const auto& s : d.steps) {
      steps.push_back(json::object{{"at", jtime(s.at)},
                                   {"state", s.state},
                                   {"actor", jstr(s.actor)},
                                   {"note", jstr(s.note)}});
    }
    for (const auto& f : d.evidence) files.push_back(evidence_json(f));
    o["steps"] = std::move(steps);
    o["evidence"] = std::move(files);
  }
  return o;
}

// The request's idempotency key (header first, else `client_id`); answers 400 itself when bad.
std::optional<std::string> idempotency_key(Call& call, const json::object* body) {
  std::string key(call.req.header("idempotency-key"));
  if (key.empty() && body) {
    if (auto* v = body->if_contains("client_id"); v && v->is_string()) key = v->as_string();
  }
  if (key.empty()) return key;
  if (auto st = check_idempotency_key(key); !st.ok()) {
    call.error(st.error());
    return std::nullopt;
  }
  return key;
}

// Answers a replayed request with the first answer (or the dispatch as it is now when the
// first answer was not kept).
void answer_replay(Call& call, const IdempotentAnswer& a, std::string_view dispatch_id) {
  if (a.status != 0) {
    return call.json(a.status, a.body, {{"Idempotent-Replay", "true"}});
  }
  auto d = get_dispatch(*call.store, call.principal, dispatch_id);
  if (!d.ok()) return call.error(d.error());
  call.json(200, to_text(dispatch_json(*d, true)), {{"Idempotent-Replay", "true"}});
}

// Answers a change and keeps the answer for the key.
void answer_kept(Call& call, const std::string& key, int status, std::string body) {
  remember_answer(*call.store, call.principal, key, status, body);
  call.json(status, std::move(body));
}

}  // namespace

void h_list_technicians(Call& call) {
  auto t = list_technicians(*call.store, call.principal);
  if (!t.ok()) return call.error(t.error());
  json::array a;
  for (const auto& x : *t) a.push_back(technician_json(x));
  call.json(200, to_text(json::object{{"items", std::move(a)}}));
}

void h_save_technician(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  Technician t;
  t.user_id = call.param("id");
  if (read_strings(*o, "skills", t.skills, &err) &&
      read_strings(*o, "prefectures", t.prefectures, &err)) {
    read_strings(*o, "availability", t.availability, &err);
  }
  if (!err.empty()) return call.error(400, err);
  auto r = save_technician(*call.store, call.principal, std::move(t));
  if (!r.ok()) return call.error(r.error());
  call.json(200, to_text(technician_json(*r)));
}

void h_list_dispatches(Call& call) {
  DispatchQuery q;
  q.customer_id = call.req.query_param("customer_id");
  q.incident_id = call.req.query_param("incident_id");
  q.ticket_id = call.req.query_param("ticket_id");
  q.technician_id = call.req.query_param("technician_id");
  q.state = call.req.query_param("state");
  q.limit = query_int(call.req, "limit", 100);
  q.offset = query_int(call.req, "offset", 0);
  auto d = list_dispatches(*call.store, call.principal, q);
  if (!d.ok()) return call.error(d.error());
  json::array a;
  for (const auto& x : *d) a.push_back(dispatch_json(x, false));
  call.json(200, to_text(json::object{
                     {"items", std::move(a)}, {"limit", q.limit}, {"offset", q.offset}}));
}

void h_open_dispatch(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  auto key = idempotency_key(call, &*o);
  if (!key) return;
  std::string err;
  NewDispatch n;
  n.customer_id = get_string(*o, "customer_id", &err);
  n.incident_id = get_string(*o, "incident_id", &err);
  n.ticket_id = get_string(*o, "ticket_id", &err);
  if (auto k = get_string(*o, "kind", &err); !k.empty()) n.kind = k;
  n.summary = get_string(*o, "summary", &err);
  n.prefecture = get_string(*o, "prefecture", &err);
  n.address = get_string(*o, "address", &err);
  n.technician_id = get_string(*o, "technician_id", &err);
  if (err.empty()) read_strings(*o, "skills", n.skills, &err);
  if (!err.empty()) return call.error(400, err);
  n.idempotency_key = *key;
  IdempotentAnswer replay;
  auto d = open_dispatch(*call.store, call.principal, call.api->options().dispatch, std::move(n),
                         &replay);
  if (!d.ok()) return call.error(d.error());
  if (replay.found) {
    if (replay.status != 0) return answer_replay(call, replay, "");
    return call.error(409, "this Idempotency-Key's first request is still being answered");
  }
  answer_kept(call, *key, 201, to_text(dispatch_json(*d, false)));
}

void h_get_dispatch(Call& call) {
  auto d = get_dispatch(*call.store, call.principal, call.param("id"));
  if (!d.ok()) return call.error(d.error());
  call.json(200, to_text(dispatch_json(*d, true)));
}

void h_dispatch_action(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  auto key = idempotency_key(call, &*o);
  if (!key) return;
  std::string err;
  DispatchChange c;
  c.action = call.param("action");
  c.text = get_string(*o, "text", &err);
  c.outcome = get_string(*o, "outcome", &err);
  c.name = get_string(*o, "name", &err);
  c.prefecture = get_string(*o, "prefecture", &err);
  c.address = get_string(*o, "address", &err);
  c.technician_id = get_string(*o, "technician_id", &err);
  if (err.empty()) read_strings(*o, "skills", c.skills, &err);
  if (!err.empty()) return call.error(400, err);
  c.idempotency_key = *key;
  IdempotentAnswer replay;
  auto d = change_dispatch(*call.store, call.principal, call.api->options().dispatch,
                           call.param("id"), c, &replay);
  if (!d.ok()) return call.error(d.error());
  if (replay.found) return answer_replay(call, replay, call.param("id"));
  auto full = get_dispatch(*call.store, call.principal, call.param("id"));
  answer_kept(call, *key, 200, to_text(dispatch_json(full.ok() ? *full : *d, true)));
}

void h_add_evidence(Call& call) {
  // The file is the body as sent (a phone's photo, not base64); its name in ?filename=.
  auto key = idempotency_key(call, nullptr);
  if (!key) return;
  DispatchEvidence f;
  f.filename = call.req.query_param("filename");
  f.content_type = std::string(call.req.header("content-type"));
  f.data = std::move(call.req.body);
  IdempotentAnswer replay;
  auto r = add_evidence(*call.store, call.principal, call.api->options().dispatch, call.param("id"),
                        std::move(f), *key, &replay);
  if (!r.ok()) return call.error(r.error());
  if (replay.found) {
    if (replay.status != 0) return answer_replay(call, replay, call.param("id"));
    return call.error(409, "this Idempotency-Key's first request is still being answered");
  }
  answer_kept(call, *key, 201, to_text(evidence_json(*r)));
}

void h_get_evidence(Call& call) {
  auto f = get_evidence(*call.store, call.principal, call.param("id"), call.param("file"));
  if (!f.ok()) return call.error(f.error());
  respond_download(call, f->filename, f->sha256, std::move(f->data));
}

}  // namespace mimamori::server
