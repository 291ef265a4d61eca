// Triage inside the ingest transaction: one alert model for network and host detections,
// aggregation of repeats, suppression, and correlation into incidents. Ids of aggregated rows
// and incidents are derived from their keys, so that several writers (and several server
// instances) converge on the same row through ON CONFLICT instead of racing.

#include "catalogue.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/ip_address.h"
#include "mimamori/server/store.h"
#include "secrets.h"
#include "sql.h"

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

}  // namespace

Status Store::triage_event(SqlTx& tx, const IngestBatch& b, const ParsedEvent& e, int64_t now) {
  const auto& cat = Catalogue::get().classify(e.signature, e.category);
  const std::string severity = alert_severity(cat, e.suricata_severity);
  const std::string source = b.device_kind == "agent" ? "host" : "network";
  const int64_t window = options_.alert_window_s * 1000000;
  const int64_t window_start = e.ts - ((e.ts % window) + window) % window;
  const std::string alert_id =
      key_id("alr", fmt::format("{}|{}|{}|{}|{}|{}|{}", b.customer_id, b.device_id, e.signature_id,
                                e.signature, e.src_ip, e.dest_ip, window_start));
  // Suppression: stored, counted, never an incident.
  auto sup = tx.q(
      "SELECT id FROM suppression_rules WHERE customer_id = $1 AND (expires_at = 0 OR expires_at "
      "> $2) AND (device_id IS NULL OR device_id = $3) AND (signature_id = 0 OR signature_id = "
      "$4) AND (signature IS NULL OR signature = $5) AND (src_ip IS NULL OR src_ip = $6) AND "
      "(dest_ip IS NULL OR dest_ip = $7) LIMIT 1",
      {sp(b.customer_id), sp(now), sp(b.device_id), sp(e.signature_id), sp(e.signature),
       sp(e.src_ip), sp(e.dest_ip)});
  if (!sup.ok()) return sup.error();
  const bool suppressed = !sup->empty();
  auto r = tx.q(
      "INSERT INTO alerts (id, customer_id, device_id, source, category, severity, "
      "severity_rank, signature_id, signature, src_ip, dest_ip, window_start, first_seen, "
      "last_seen, count, suppressed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $13, 1, $14) ON CONFLICT (id) DO UPDATE SET count = alerts.count + 1, first_seen = "
      "CASE WHEN alerts.first_seen > $13 THEN $13 ELSE alerts.first_seen END, last_seen = CASE "
      "WHEN alerts.last_seen < $13 THEN $13 ELSE alerts.last_seen END RETURNING incident_id",
      {sp(alert_id), sp(b.customer_id), sp(b.device_id), sp(source), sp(cat.name), sp(severity),
       sp(severity_rank(severity)), sp(e.signature_id), sp(e.signature), sp(e.src_ip),
       sp(e.dest_ip), sp(window_start), sp(e.ts), sp(suppressed ? 1 : 0)});
  if (!r.ok()) return r.error();
  // Whether this alert row is linked to an incident yet, from the upsert's own answer.
  const bool unlinked = !r->empty() && r->is_null(0, 0);
  r = tx.q(
      "INSERT INTO alert_events (alert_id, customer_id, device_id, seq) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT DO NOTHING",
      {sp(alert_id), sp(b.customer_id), sp(b.device_id), sp(e.seq)});
  if (!r.ok()) return r.error();
  if (suppressed || severity_rank(severity) < severity_rank("medium")) return {};
  // Related hosts: the customer's own address in the alert (or the agent's host name).
  std::string host = !e.host.empty()          ? e.host
                     : is_internal(e.src_ip)  ? e.src_ip
                     : is_internal(e.dest_ip) ? e.dest_ip
                     : !e.dest_ip.empty()     ? e.dest_ip
                                              : b.device_id;
  std::string incident_id;
  if (auto st = open_incident(tx, b.customer_id, cat.name, severity, host,
                              fmt::format("{}: {}", cat.title, host), e.ts, alert_id, unlinked,
                              &incident_id);
      !st.ok()) {
    return st;
  }
  if (unlinked) {
    auto u = tx.q("UPDATE alerts SET incident_id = $2 WHERE id = $1 AND incident_id IS NULL",
                  {sp(alert_id), sp(incident_id)});
    if (!u.ok()) return u.error();
  }
  return {};
}

Status Store::open_incident(SqlTx& tx, std::string_view customer_id, std::string_view category,
                            std::string_view severity, std::string_view host,
                            std::string_view title, int64_t at, std::string_view alert_id,
                            bool new_alert, std::string* incident_id) {
  const int64_t window = options_.incident_window_s * 1000000;
  const int64_t bucket = at - ((at % window) + window) % window;
  const std::string id =
      key_id("inc", fmt::format("{}|{}|{}|{}", customer_id, category, host, bucket));
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
    const auto& cat = Catalogue::get().find(category);
    std::string text = created ? fmt::format("インシデントを作成しました: {}", title)
                               : fmt::format("関連するアラートを追加しました ({})", alert_id);
    r = tx.q(
        "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
        "VALUES ($1, $2, $3, $4, 'system', $5, $6)",
        {sp(random_id("tl")), sp(id), sp(customer_id), sp(now),
         sp(created ? "opened" : "alert_added"), sp(text)});
    if (!r.ok()) return r.error();
    if (created) {
      std::string body = fmt::format(
          "{}\n\n何が起きたか: {}\nどのくらい危険か: {}\n今すぐすること: {}\n\n対象: {}\n"
          "インシデント: {}\n",
          title, cat.what, cat.danger, cat.action, host, id);
      if (auto st =
              enqueue_notifications(tx, customer_id, id, severity,
                                    fmt::format("[見守り][{}] {}", severity, title), body, now);
          !st.ok()) {
        return st;
      }
    }
  }
  return {};
}

Result<int64_t> Store::check_heartbeats(int64_t now) {
  int64_t opened = 0;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
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
      if (auto s = open_incident(tx, r->str(i, 1), "monitoring_stopped", cat.severity, r->str(i, 0),
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
