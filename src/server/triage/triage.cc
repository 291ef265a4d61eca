// Triage inside the ingest transaction: one alert model for network and host detections,
// aggregation of repeats, suppression, and correlation into incidents. Ids of aggregated rows
// and incidents are derived from their keys, so that several writers (and several server
// instances) converge on the same row through ON CONFLICT instead of racing.

#include "triage/triage.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/ip_address.h"
#include "notify/notify.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

std::string key_id(std::string_view prefix, std::string_view key) {
  return std::string(prefix) + "_" + core::sha256_hex(key).substr(0, 20);
}

bool is_internal(std::string_view ip) {
  auto a = core::IpAddress::parse(ip);
  if (!a.ok()) return false;
  if (a->is_v4()) {
    uint32_t v = a->v4_host_order();
    return (v >> 24) == 10 || (v >> 20) == ((172u << 4) | 1) || (v >> 16) == ((192u << 8) | 168) ||
           (v >> 24) == 127;
  }
  const auto& b = a->bytes();
  return (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80);
}

// The id of the incident of a category and host in the window holding `at`: alert triage and
// the heartbeat check must derive the same id to converge on one row.
std::string incident_id_of(std::string_view customer_id, std::string_view category,
                           std::string_view host, int64_t at, int64_t window) {
  const int64_t bucket = at - ((at % window) + window) % window;
  return key_id("inc", fmt::format("{}|{}|{}|{}", customer_id, category, host, bucket));
}

// The subject and body of the notification of a new incident. Title and host come from the
// device: each is one line of capped length here; each channel escapes the whole text.
std::pair<std::string, std::string> opened_message(std::string_view category,
                                                   std::string_view severity,
                                                   std::string_view title, std::string_view host,
                                                   std::string_view incident_id) {
  const auto& cat = Catalogue::get().find(category);
  const std::string t = field_value(title), h = field_value(host);
  return {
      fmt::format("[見守り][{}] {}", severity, t),
      fmt::format("{}\n\n何が起きたか: {}\nどのくらい危険か: {}\n今すぐすること: {}\n\n対象: {}\n"
                  "インシデント: {}\n",
                  t, cat.what, cat.danger, cat.action, h, incident_id)};
}

// One rule of a customer's suppression list; empty/zero fields match anything.
struct SuppressionMatch {
  std::string device_id, signature, src_ip, dest_ip;
  int64_t signature_id = 0;
  bool matches(std::string_view device, int64_t sid, std::string_view sig, std::string_view src,
               std::string_view dst) const {
    return (device_id.empty() || device_id == device) &&
           (signature_id == 0 || signature_id == sid) && (signature.empty() || signature == sig) &&
           (src_ip.empty() || src_ip == src) && (dest_ip.empty() || dest_ip == dst);
  }
};

// An aggregated alert row of a group: every new event of one (customer, device, signature,
// addresses, window) key.
struct AlertAgg {
  std::string id;
  const IngestBatch* batch = nullptr;
  const ParsedEvent* first = nullptr;  // the group's first event of this alert
  const AlertCategory* category = nullptr;
  std::string severity;
  int64_t window_start = 0, first_seen = 0, last_seen = 0, count = 0;
  bool suppressed = false;
  bool unlinked = false;      // no incident yet (from the upsert's answer)
  std::string link_incident;  // the incident its first event opened or joined
};

// One new alert event of a group.
struct AlertEvent {
  const IngestBatch* batch = nullptr;
  const ParsedEvent* event = nullptr;
  size_t alert = 0;
};

// An incident touched by a group: its events in order, and the new alerts that join it.
struct IncidentAgg {
  std::string id, customer_id, category, title, host;
  std::string first_severity, top_severity;
  int64_t count = 0;
  size_t creator_alert = 0;  // alert of the first event (its entry is "opened" if created)
  bool creator_alert_new = false;
  std::vector<size_t> new_alerts;
  bool created = false;
};

// Opens (or adds to) the incident of a category and host; `alert_id` names a new alert not yet
// linked to an incident (empty for a 監視停止 incident).
Status open_incident(SqlTx& tx, int64_t incident_window, std::string_view customer_id,
                     std::string_view category, std::string_view severity, std::string_view host,
                     std::string_view title, int64_t at, std::string_view alert_id, bool new_alert,
                     std::string* incident_id) {
  const std::string id = incident_id_of(customer_id, category, host, at, incident_window);
  *incident_id = id;
  const int64_t now = core::now().micros;
  auto r = tx.q(
      "INSERT INTO incidents (id, customer_id, title, category, severity, severity_rank, status, "
      "host, created_at, updated_at, alert_count) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, "
      "$8, $8, 0) ON CONFLICT (id) DO NOTHING",
      {sp(id), sp(customer_id), sp(title), sp(category), sp(severity), sp(severity_rank(severity)),
       sp(host), sp(now)});
  if (!r.ok()) return r.error();
  const bool created = r->affected == 1;
  r = tx.q(
      "UPDATE incidents SET alert_count = alert_count + $2, updated_at = $3, severity = CASE "
      "WHEN severity_rank < $4 THEN $5 ELSE severity END, severity_rank = CASE WHEN "
      "severity_rank < $4 THEN $4 ELSE severity_rank END WHERE id = $1",
      {sp(id), sp(int64_t{1}), sp(now), sp(severity_rank(severity)), sp(severity)});
  if (!r.ok()) return r.error();
  if (created || new_alert) {
    std::string text = created ? fmt::format("インシデントを作成しました: {}", title)
                               : fmt::format("関連するアラートを追加しました ({})", alert_id);
    r = tx.q(
        "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
        "VALUES ($1, $2, $3, $4, 'system', $5, $6)",
        {sp(random_id("tl")), sp(id), sp(customer_id), sp(now),
         sp(created ? "opened" : "alert_added"), sp(text)});
    if (!r.ok()) return r.error();
    if (created) {
      auto [subject, body] = opened_message(category, severity, title, host, id);
      if (auto st =
              enqueue_incident_notifications(tx, customer_id, id, severity, subject, body, now);
          !st.ok()) {
        return st;
      }
    }
  }
  return {};
}

}  // namespace

// The same outcome as triaging the group's events one after another, in far fewer statements:
// repeats are aggregated in memory first, and each step is one pipeline (one round trip on
// PostgreSQL) — suppression rules, then alerts + raw-event links + device acknowledgements,
// then incidents, then timeline entries and alert links.
Status triage_group(SqlTx& tx, std::span<const IngestBatch* const> group,
                    const std::vector<bool>& inserted, int64_t now, const StoreOptions& options) {
  std::vector<AlertEvent> events;
  std::vector<std::string_view> customers;
  {
    size_t offset = 0;
    for (const IngestBatch* batch : group) {
      const IngestBatch& b = *batch;
      for (size_t i = 0; i < b.events.size(); ++i) {
        if (!b.events[i].is_alert || !inserted[offset + i]) continue;
        events.push_back(AlertEvent{&b, &b.events[i], 0});
        if (std::find(customers.begin(), customers.end(), b.customer_id) == customers.end()) {
          customers.push_back(b.customer_id);
        }
      }
      offset += b.events.size() + b.rejected.size();
    }
  }
  std::vector<SqlStatement> stmts;
  // Suppression rules of the customers with alerts in this group.
  std::unordered_map<std::string_view, std::vector<SuppressionMatch>> rules;
  if (!customers.empty()) {
    for (auto c : customers) {
      stmts.push_back(SqlStatement{
          "SELECT COALESCE(device_id, ''), signature_id, COALESCE(signature, ''), "
          "COALESCE(src_ip, ''), COALESCE(dest_ip, '') FROM suppression_rules WHERE customer_id "
          "= $1 AND (expires_at = 0 OR expires_at > $2)",
          {sp(c), sp(now)}});
    }
    auto r = tx.pipeline(stmts);
    if (!r.ok()) return r.error();
    for (size_t c = 0; c < customers.size(); ++c) {
      auto& list = rules[customers[c]];
      const SqlRows& rows = (*r)[c];
      for (size_t i = 0; i < rows.size(); ++i) {
        list.push_back(SuppressionMatch{rows.str(i, 0), rows.str(i, 2), rows.str(i, 3),
                                        rows.str(i, 4), rows.i64(i, 1)});
      }
    }
  }
  // Aggregate the alert rows.
  std::vector<AlertAgg> alerts;
  std::unordered_map<std::string, size_t> alert_index;
  const int64_t window = options.alert_window_s * 1000000;
  for (auto& ae : events) {
    const IngestBatch& b = *ae.batch;
    const ParsedEvent& e = *ae.event;
    const int64_t window_start = e.ts - ((e.ts % window) + window) % window;
    std::string id =
        key_id("alr", fmt::format("{}|{}|{}|{}|{}|{}|{}", b.customer_id, b.device_id,
                                  e.signature_id, e.signature, e.src_ip, e.dest_ip, window_start));
    auto [it, added] = alert_index.emplace(std::move(id), alerts.size());
    if (added) {
      // Classified once per alert row: its later events take the row's category.
      const auto& cat = Catalogue::get().classify(e.signature, e.category);
      AlertAgg a;
      a.id = it->first;
      a.batch = &b;
      a.first = &e;
      a.category = &cat;
      a.severity = alert_severity(cat, e.suricata_severity);
      a.window_start = window_start;
      a.first_seen = a.last_seen = e.ts;
      for (const auto& rule : rules[b.customer_id]) {
        if (rule.matches(b.device_id, e.signature_id, e.signature, e.src_ip, e.dest_ip)) {
          a.suppressed = true;
          break;
        }
      }
      alerts.push_back(std::move(a));
    }
    AlertAgg& a = alerts[it->second];
    a.first_seen = std::min(a.first_seen, e.ts);
    a.last_seen = std::max(a.last_seen, e.ts);
    ++a.count;
    ae.alert = it->second;
  }
  // Alerts, their raw events, and the devices' acknowledgements.
  stmts.clear();
  for (const auto& a : alerts) {
    const IngestBatch& b = *a.batch;
    const ParsedEvent& e = *a.first;
    stmts.push_back(SqlStatement{
        "INSERT INTO alerts (id, customer_id, device_id, source, category, severity, "
        "severity_rank, signature_id, signature, src_ip, dest_ip, window_start, first_seen, "
        "last_seen, count, suppressed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13, $14, $15, $16) ON CONFLICT (id) DO UPDATE SET count = alerts.count + $15, "
        "first_seen = CASE WHEN alerts.first_seen > $13 THEN $13 ELSE alerts.first_seen END, "
        "last_seen = CASE WHEN alerts.last_seen < $14 THEN $14 ELSE alerts.last_seen END "
        "RETURNING incident_id",
        {sp(a.id), sp(b.customer_id), sp(b.device_id),
         sp(b.device_kind == "agent" ? "host" : "network"), sp(a.category->name), sp(a.severity),
         sp(severity_rank(a.severity)), sp(e.signature_id), sp(e.signature), sp(e.src_ip),
         sp(e.dest_ip), sp(a.window_start), sp(a.first_seen), sp(a.last_seen), sp(a.count),
         sp(a.suppressed ? 1 : 0)}});
  }
  for (const auto& ae : events) {
    stmts.push_back(SqlStatement{
        "INSERT INTO alert_events (alert_id, customer_id, device_id, seq) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        {sp(alerts[ae.alert].id), sp(ae.batch->customer_id), sp(ae.batch->device_id),
         sp(ae.event->seq)}});
  }
  {
    // One acknowledgement per device: the highest sequence number of its batches.
    std::unordered_map<std::string_view, int64_t> acked;
    std::vector<std::string_view> order;
    for (const IngestBatch* b : group) {
      auto [it, added] = acked.emplace(b->device_id, b->last);
      if (added) order.push_back(b->device_id);
      it->second = std::max(it->second, b->last);
    }
    for (auto d : order) {
      stmts.push_back(SqlStatement{
          "UPDATE devices SET acked_through = CASE WHEN acked_through < $1 THEN $1 ELSE "
          "acked_through END, last_seen = CASE WHEN last_seen < $2 THEN $2 ELSE last_seen END "
          "WHERE id = $3",
          {sp(acked[d]), sp(now), sp(d)}});
    }
  }
  auto r = tx.pipeline(stmts);
  if (!r.ok()) return r.error();
  for (size_t i = 0; i < alerts.size(); ++i) {
    const SqlRows& rows = (*r)[i];
    alerts[i].unlinked = !rows.empty() && rows.is_null(0, 0);
  }
  // Incidents: each eligible event (not suppressed, medium or worse) counts once in its
  // incident; an alert still without an incident joins the incident of its first event.
  std::vector<IncidentAgg> incidents;
  std::unordered_map<std::string, size_t> incident_index;
  const int64_t inc_window = options.incident_window_s * 1000000;
  for (const auto& ae : events) {
    AlertAgg& a = alerts[ae.alert];
    const IngestBatch& b = *ae.batch;
    const ParsedEvent& e = *ae.event;
    const std::string severity = alert_severity(*a.category, e.suricata_severity);
    if (a.suppressed || severity_rank(severity) < severity_rank("medium")) continue;
    // Related hosts: the customer's own address in the alert (or the agent's host name).
    const std::string& host = !e.host.empty()          ? e.host
                              : is_internal(e.src_ip)  ? e.src_ip
                              : is_internal(e.dest_ip) ? e.dest_ip
                              : !e.dest_ip.empty()     ? e.dest_ip
                                                       : b.device_id;
    std::string id = incident_id_of(b.customer_id, a.category->name, host, e.ts, inc_window);
    const bool new_alert = a.unlinked && a.link_incident.empty();
    auto [it, added] = incident_index.emplace(id, incidents.size());
    if (added) {
      IncidentAgg x;
      x.id = std::move(id);
      x.customer_id = b.customer_id;
      x.category = a.category->name;
      x.title = fmt::format("{}: {}", a.category->title, host);
      x.host = host;
      x.first_severity = x.top_severity = severity;
      x.creator_alert = ae.alert;
      x.creator_alert_new = new_alert;
      incidents.push_back(std::move(x));
    }
    IncidentAgg& x = incidents[it->second];
    ++x.count;
    if (severity_rank(severity) > severity_rank(x.top_severity)) x.top_severity = severity;
    if (new_alert) {
      a.link_incident = x.id;
      x.new_alerts.push_back(ae.alert);
    }
  }
  if (incidents.empty()) return {};
  stmts.clear();
  for (const auto& x : incidents) {
    stmts.push_back(SqlStatement{
        "INSERT INTO incidents (id, customer_id, title, category, severity, severity_rank, "
        "status, host, created_at, updated_at, alert_count) VALUES ($1, $2, $3, $4, $5, $6, "
        "'open', $7, $8, $8, 0) ON CONFLICT (id) DO NOTHING",
        {sp(x.id), sp(x.customer_id), sp(x.title), sp(x.category), sp(x.first_severity),
         sp(severity_rank(x.first_severity)), sp(x.host), sp(now)}});
    stmts.push_back(SqlStatement{
        "UPDATE incidents SET alert_count = alert_count + $2, updated_at = $3, severity = CASE "
        "WHEN severity_rank < $4 THEN $5 ELSE severity END, severity_rank = CASE WHEN "
        "severity_rank < $4 THEN $4 ELSE severity_rank END WHERE id = $1",
        {sp(x.id), sp(x.count), sp(now), sp(severity_rank(x.top_severity)), sp(x.top_severity)}});
  }
  r = tx.pipeline(stmts);
  if (!r.ok()) return r.error();
  for (size_t i = 0; i < incidents.size(); ++i) incidents[i].created = (*r)[2 * i].affected == 1;
  // Timeline entries (one "opened" for a new incident, one "alert added" per new alert that
  // did not open it) and the links of new alerts.
  stmts.clear();
  for (const auto& x : incidents) {
    if (x.created) {
      stmts.push_back(SqlStatement{
          "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
          "VALUES ($1, $2, $3, $4, 'system', $5, $6)",
          {sp(random_id("tl")), sp(x.id), sp(x.customer_id), sp(now), sp("opened"),
           sp(fmt::format("インシデントを作成しました: {}", x.title))}});
    }
    for (size_t k = 0; k < x.new_alerts.size(); ++k) {
      const AlertAgg& a = alerts[x.new_alerts[k]];
      if (!(x.created && k == 0 && x.creator_alert_new)) {
        stmts.push_back(SqlStatement{
            "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
            "VALUES ($1, $2, $3, $4, 'system', $5, $6)",
            {sp(random_id("tl")), sp(x.id), sp(x.customer_id), sp(now), sp("alert_added"),
             sp(fmt::format("関連するアラートを追加しました ({})", a.id))}});
      }
      stmts.push_back(
          SqlStatement{"UPDATE alerts SET incident_id = $2 WHERE id = $1 AND incident_id IS NULL",
                       {sp(a.id), sp(x.id)}});
    }
  }
  if (!stmts.empty()) {
    if (auto t = tx.pipeline(stmts); !t.ok()) return t.error();
  }
  for (const auto& x : incidents) {
    if (!x.created) continue;
    auto [subject, body] = opened_message(x.category, x.first_severity, x.title, x.host, x.id);
    if (auto st = enqueue_incident_notifications(tx, x.customer_id, x.id, x.first_severity, subject,
                                                 body, now);
        !st.ok()) {
      return st;
    }
  }
  return {};
}

Result<int64_t> check_heartbeats(Store& store, int64_t now) {
  int64_t opened = 0;
  const int64_t incident_window = store.options().incident_window_s * 1000000;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    std::string sql =
        "SELECT id, customer_id, hostname FROM devices WHERE status = 'active' AND "
        "monitoring_stopped = 0 AND last_seen < $1 - heartbeat_limit_s * 1000000 ORDER BY id "
        "LIMIT 500";
    if (tx.dialect() == Dialect::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
    auto r = tx.q(sql, {sp(now)});
    if (!r.ok()) return r.error();
    const auto& cat = Catalogue::get().find("monitoring_stopped");
    for (size_t i = 0; i < r->size(); ++i) {
      auto u = tx.q("UPDATE devices SET monitoring_stopped = 1 WHERE id = $1", {sp(r->str(i, 0))});
      if (!u.ok()) return u.error();
      std::string incident_id;
      if (auto s = open_incident(tx, incident_window, r->str(i, 1), "monitoring_stopped",
                                 cat.severity, r->str(i, 0),
                                 fmt::format("{}: {} ({})", cat.title, r->str(i, 2), r->str(i, 0)),
                                 now, {}, true, &incident_id);
          !s.ok()) {
        return s;
      }
      ++opened;
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return opened;
}

}  // namespace mimamori::server
