// Channels, on-call, outbox status, audit log, OpenAPI, metrics, health.

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "notify/notify.h"

namespace mimamori::server {

void h_list_channels(Call& call) {
  auto c = list_channels(*call.store, call.principal, call.req.query_param("customer_id"));
  if (!c.ok()) return call.error(c.error());
  call.json(200, list_json(*c));
}

void h_create_channel(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  Channel c;
  c.customer_id = get_string(*o, "customer_id", &err);
  c.name = get_string(*o, "name", &err);
  c.kind = get_string(*o, "kind", &err);
  c.target = get_string(*o, "target", &err);
  c.secret = get_string(*o, "secret", &err);
  std::string sev = get_string(*o, "min_severity", &err);
  if (!sev.empty()) c.min_severity = sev;
  if (!err.empty()) return call.error(400, err);
  if (c.name.empty()) c.name = c.kind;
  auto r = create_channel(*call.store, call.principal, c);
  if (!r.ok()) return call.error(r.error());
  call.json(201, to_text(to_json(*r)));
}

void h_delete_channel(Call& call) {
  auto st = delete_channel(*call.store, call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, "{}");
}

namespace {
std::string oncall_json(const std::vector<OnCallEntry>& v) {
  json::array a;
  for (const auto& e : v) {
    a.push_back(json::object{{"position", e.position},
                             {"user_id", e.user_id},
                             {"email", e.email},
                             {"channel_id", e.channel_id}});
  }
  return to_text(json::object{{"items", std::move(a)}});
}
}  // namespace

void h_get_oncall(Call& call) {
  auto r = list_oncall(*call.store, call.principal);
  if (!r.ok()) return call.error(r.error());
  call.json(200, oncall_json(*r));
}

void h_set_oncall(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  auto it = o->find("members");
  if (it == o->end() || !it->value().is_array()) {
    return call.error(400, "member 'members' must be an array of {user_id, channel_id}");
  }
  std::vector<OnCallEntry> rot;
  std::string err;
  for (const auto& m : it->value().as_array()) {
    if (!m.is_object()) return call.error(400, "each member of 'members' must be an object");
    OnCallEntry e;
    e.user_id = get_string(m.as_object(), "user_id", &err);
    e.channel_id = get_string(m.as_object(), "channel_id", &err);
    rot.push_back(std::move(e));
  }
  if (!err.empty()) return call.error(400, err);
  auto r = set_oncall(*call.store, call.principal, rot);
  if (!r.ok()) return call.error(r.error());
  call.json(200, oncall_json(*r));
}

void h_list_outbox(Call& call) {
  auto m = list_outbox(*call.store, call.principal, call.req.query_param("customer_id"),
                       query_int(call.req, "limit", 100));
  if (!m.ok()) return call.error(m.error());
  call.json(200, list_json(*m));
}

void h_list_audit(Call& call) {
  AuditQuery q;
  q.customer_id = call.req.query_param("customer_id");
  q.actor = call.req.query_param("actor");
  q.action = call.req.query_param("action");
  q.outcome = call.req.query_param("outcome");
  q.limit = query_int(call.req, "limit", 200);
  q.offset = query_int(call.req, "offset", 0);
  auto a = call.store->list_audit(call.principal, q);
  if (!a.ok()) return call.error(a.error());
  call.json(200, list_json(*a, q.limit, q.offset));
}

void h_openapi(Call& call) { call.json(200, std::string(openapi_document())); }

// Public: says whether the database answers and since when, never where it is or why not
// (those are in /metrics and the log).
void h_health(Call& call) {
  auto v = call.store->schema_version();
  const DatabaseState db = call.store->database_state();
  json::object database{{"state", v.ok() ? "up" : "down"}};
  if (db.since_us != 0) database["since"] = core::format_eve_time(core::Timestamp{db.since_us});
  json::object o{{"status", v.ok() ? "ok" : "unavailable"},
                 {"backend", call.store->backend_name()},
                 {"database", std::move(database)},
                 {"time", core::format_eve_time(core::now())}};
  if (v.ok()) o["schema_version"] = *v;
  call.json(v.ok() ? 200 : 503, to_text(o));
}

void h_metrics(Call& call) {
  std::string out;
  auto line = [&](std::string_view name, std::string_view help, std::string_view type,
                  int64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  auto& is = call.api->ingest().stats();
  line("mimamori_ingest_batches_total", "Ingest batches committed.", "counter", is.batches.load());
  line("mimamori_ingest_events_accepted_total", "Events stored.", "counter",
       is.events_accepted.load());
  line("mimamori_ingest_events_duplicate_total", "Events already stored (retries).", "counter",
       is.events_duplicate.load());
  line("mimamori_ingest_events_rejected_total", "Malformed events rejected.", "counter",
       is.events_rejected.load());
  line("mimamori_ingest_throttled_total", "Batches answered 429.", "counter", is.throttled.load());
  line("mimamori_ingest_commits_total", "Ingest transactions committed.", "counter",
       is.commits.load());
  line("mimamori_ingest_queue_events", "Events waiting for commit.", "gauge",
       is.queue_events.load());
  {
    const DatabaseState db = call.store->database_state();
    line("mimamori_database_up", "1 while the database answers, 0 while it is away.", "gauge",
         db.up ? 1 : 0);
    line("mimamori_database_state_since_seconds",
         "When the database last came back or went away (0: never since start).", "gauge",
         db.since_us / 1000000);
    line("mimamori_database_lost_total", "Times the database went away.", "counter", db.lost);
    line("mimamori_database_reconnects_total", "Connections made again after one was lost.",
         "counter", db.reconnects);
    line("mimamori_database_unavailable_total",
         "Operations answered 503 because the database was away.", "counter", db.unavailable);
    line("mimamori_database_prepared_statements", "Prepared statements held over all connections.",
         "gauge", db.prepared);
    if (!db.server.empty()) {
      out += fmt::format(
          "# HELP mimamori_database_server The server of the last connection made.\n"
          "# TYPE mimamori_database_server gauge\nmimamori_database_server{{server=\"{}\"}} 1\n",
          db.server);
    }
  }
  if (auto* hs = call.api->http_stats()) {
    line("mimamori_http_connections_total", "Connections accepted.", "counter",
         hs->connections.load());
    line("mimamori_http_connections_rejected_total",
         "Connections refused over server.max_connections or server.max_connections_per_ip.",
         "counter", hs->rejected.load());
    line("mimamori_http_requests_in_flight", "Requests being handled.", "gauge", hs->active.load());
    line("mimamori_http_too_large_total", "Requests over the body limit.", "counter",
         hs->too_large.load());
  }
  if (auto oc = outbox_counts(*call.store); oc.ok()) {
    out +=
        "# HELP mimamori_outbox_messages Outbox messages by delivery status.\n"
        "# TYPE mimamori_outbox_messages gauge\n";
    for (const auto& [status, n] : *oc) {
      out += fmt::format("mimamori_outbox_messages{{status=\"{}\"}} {}\n", status, n);
    }
  }
  auto& m = call.api->metrics();
  {
    std::lock_guard lock(m.mu);
    out +=
        "# HELP mimamori_http_requests_total Requests by route and status.\n"
        "# TYPE mimamori_http_requests_total counter\n";
    for (const auto& [k, n] : m.requests) {
      out += fmt::format("mimamori_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first,
                         k.second, n);
    }
    out +=
        "# HELP mimamori_http_request_seconds Request latency.\n"
        "# TYPE mimamori_http_request_seconds histogram\n";
    int64_t cum = 0;
    for (size_t i = 0; i < m.bucket_bounds.size(); ++i) {
      cum += m.buckets[i];
      out += fmt::format("mimamori_http_request_seconds_bucket{{le=\"{}\"}} {}\n",
                         m.bucket_bounds[i], cum);
    }
    cum += m.buckets.back();
    out += fmt::format("mimamori_http_request_seconds_bucket{{le=\"+Inf\"}} {}\n", cum);
    out += fmt::format("mimamori_http_request_seconds_sum {}\n", m.latency_sum);
    out += fmt::format("mimamori_http_request_seconds_count {}\n", m.latency_count);
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  call.api->record(call, 200);
  call.respond(std::move(r));
}

}  // namespace mimamori::server
