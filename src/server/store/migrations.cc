// The schema. Every row a customer owns carries customer_id (the tenant). Times are UTC
// microseconds (BIGINT); flags are INTEGER 0/1 so that the same SQL runs on both backends.

#include "store/migrations.h"

#include "mimamori/core/clock.h"

namespace mimamori::server {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "tenants, users, devices, events, triage, audit",
       {
           "CREATE TABLE providers (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT "
           "NOT NULL)",
           "CREATE TABLE customers (id TEXT PRIMARY KEY, provider_id TEXT NOT NULL REFERENCES "
           "providers(id), name TEXT NOT NULL, created_at BIGINT NOT NULL, config_version BIGINT "
           "NOT NULL DEFAULT 1)",
           "CREATE TABLE sites (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES "
           "customers(id), name TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX sites_customer ON sites(customer_id)",
           "CREATE TABLE users (id TEXT PRIMARY KEY, customer_id TEXT REFERENCES customers(id), "
           "email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL, password_hash "
           "TEXT NOT NULL, totp_secret TEXT, totp_enabled INTEGER NOT NULL DEFAULT 0, "
           "failed_logins INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, "
           "created_at BIGINT NOT NULL)",
           "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES "
           "users(id), csrf_token TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT "
           "NOT NULL)",
           "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES "
           "users(id), name TEXT NOT NULL, token_hash TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "revoked INTEGER NOT NULL DEFAULT 0)",
           "CREATE TABLE devices (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES "
           "customers(id), site_id TEXT NOT NULL REFERENCES sites(id), kind TEXT NOT NULL, "
           "hostname TEXT NOT NULL, version TEXT NOT NULL, token_hash TEXT NOT NULL, status TEXT "
           "NOT NULL, enrolled_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, acked_through "
           "BIGINT NOT NULL DEFAULT 0, heartbeat_limit_s BIGINT NOT NULL, monitoring_stopped "
           "INTEGER NOT NULL DEFAULT 0, last_heartbeat TEXT)",
           "CREATE INDEX devices_customer ON devices(customer_id)",
           "CREATE TABLE enrollment_codes (code_hash TEXT PRIMARY KEY, customer_id TEXT NOT NULL "
           "REFERENCES customers(id), site_id TEXT NOT NULL REFERENCES sites(id), created_by "
           "TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at "
           "BIGINT, device_id TEXT)",
           "CREATE TABLE events (device_id TEXT NOT NULL, seq BIGINT NOT NULL, customer_id TEXT "
           "NOT NULL, ts BIGINT NOT NULL, event_type TEXT NOT NULL, raw TEXT NOT NULL, "
           "received_at BIGINT NOT NULL, PRIMARY KEY (device_id, seq))",
           "CREATE INDEX events_customer_ts ON events(customer_id, ts)",
           "CREATE TABLE alerts (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, device_id TEXT "
           "NOT NULL, source TEXT NOT NULL, category TEXT NOT NULL, severity TEXT NOT NULL, "
           "severity_rank INTEGER NOT NULL, signature_id BIGINT NOT NULL, signature TEXT NOT "
           "NULL, src_ip TEXT NOT NULL, dest_ip TEXT NOT NULL, window_start BIGINT NOT NULL, "
           "first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, count BIGINT NOT NULL, "
           "incident_id TEXT, suppressed INTEGER NOT NULL DEFAULT 0)",
           "CREATE INDEX alerts_customer_seen ON alerts(customer_id, last_seen)",
           "CREATE TABLE alert_events (alert_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
           "device_id TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (alert_id, device_id, "
           "seq))",
           "CREATE TABLE incidents (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, title TEXT "
           "NOT NULL, category TEXT NOT NULL, severity TEXT NOT NULL, severity_rank INTEGER NOT "
           "NULL, status TEXT NOT NULL, assignee TEXT, host TEXT NOT NULL, created_at BIGINT NOT "
           "NULL, updated_at BIGINT NOT NULL, acknowledged_at BIGINT NOT NULL DEFAULT 0, "
           "closed_at BIGINT NOT NULL DEFAULT 0, resolution TEXT, alert_count BIGINT NOT NULL "
           "DEFAULT 0, escalation_level INTEGER NOT NULL DEFAULT 0, escalated_at BIGINT NOT NULL "
           "DEFAULT 0)",
           "CREATE INDEX incidents_customer ON incidents(customer_id, status)",
           "CREATE TABLE incident_timeline (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT "
           "NULL, text TEXT NOT NULL)",
           "CREATE INDEX timeline_incident ON incident_timeline(incident_id, at)",
           "CREATE TABLE suppression_rules (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL "
           "REFERENCES customers(id), device_id TEXT, signature_id BIGINT NOT NULL DEFAULT 0, "
           "signature TEXT, src_ip TEXT, dest_ip TEXT, reason TEXT NOT NULL, created_by TEXT NOT "
           "NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0)",
           "CREATE TABLE audit_log (id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT "
           "NULL, customer_id TEXT, action TEXT NOT NULL, object_type TEXT NOT NULL, object_id "
           "TEXT NOT NULL, before_json TEXT, after_json TEXT, source_ip TEXT, outcome TEXT NOT "
           "NULL)",
           "CREATE INDEX audit_at ON audit_log(at)",
       }},
      {2,
       "notifications: channels, outbox, on-call",
       {
           "CREATE TABLE channels (id TEXT PRIMARY KEY, customer_id TEXT, name TEXT NOT NULL, "
           "kind TEXT NOT NULL, target TEXT NOT NULL, secret TEXT, min_severity TEXT NOT NULL, "
           "enabled INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL)",
           "CREATE TABLE outbox (id TEXT PRIMARY KEY, customer_id TEXT, channel_id TEXT NOT "
           "NULL, kind TEXT NOT NULL, target TEXT NOT NULL, secret TEXT, idempotency_key TEXT "
           "NOT NULL UNIQUE, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, "
           "attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, last_error "
           "TEXT, created_at BIGINT NOT NULL, sent_at BIGINT NOT NULL DEFAULT 0)",
           "CREATE INDEX outbox_due ON outbox(status, next_attempt_at)",
           "CREATE TABLE oncall (position INTEGER PRIMARY KEY, user_id TEXT NOT NULL REFERENCES "
           "users(id), channel_id TEXT)",
       }},
      {3,
       "threat indicators; events without the unused customer-time index",
       {
           "CREATE TABLE threat_indicators (id TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT "
           "NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0, removed_at BIGINT "
           "NOT NULL DEFAULT 0)",
           "CREATE INDEX threat_indicators_value ON threat_indicators(value, removed_at)",
           // Raw events are read by (device, seq) only (behind an alert, or a device's count);
           // this index cost every insert a third b-tree and served no query.
           "DROP INDEX events_customer_ts",
       }},
      {4,
       "users: the last TOTP step accepted, so that a code is accepted once",
       {
           "ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0",
       }},
      {5,
       "accounts: disabled users, login throttling per (account, source address)",
       {
           "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
           // When the owner was last told by mail that logins to the account are throttled
           // (0: not since the last successful login).
           "ALTER TABLE users ADD COLUMN login_alert_at BIGINT NOT NULL DEFAULT 0",
           // Failed logins per (hash of the typed e-mail, source address), known account or
           // not: after store.login_max_failures each further attempt waits a growing delay.
           "CREATE TABLE login_throttle (account TEXT NOT NULL, source_ip TEXT NOT NULL, "
           "failures BIGINT NOT NULL, last_failure_at BIGINT NOT NULL, next_allowed_at BIGINT "
           "NOT NULL, PRIMARY KEY (account, source_ip))",
           "CREATE INDEX login_throttle_last ON login_throttle(last_failure_at)",
           "CREATE INDEX sessions_user ON sessions(user_id)",
           "CREATE INDEX api_tokens_user ON api_tokens(user_id)",
       }},
      {6,
       "retention: raw events by time; hourly aggregates per customer",
       {
           // Expiry walks raw events by time in small batches. Event times mostly grow, so
           // this index is appended at its right edge (unlike the customer-time index that
           // migration 3 dropped, which every insert split at one of many places).
           "CREATE INDEX events_ts ON events(ts)",
           // Per customer and UTC hour: metric `events` (item: event type), `alerts` (item:
           // category), `bytes` (item: in, out), `talker_bytes` (item: source address),
           // `domain` (item: name); the last two cut to the top items once the hour is over.
           "CREATE TABLE hourly_aggregates (customer_id TEXT NOT NULL, hour_start BIGINT NOT "
           "NULL, metric TEXT NOT NULL, item TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY "
           "(customer_id, hour_start, metric, item))",
           "CREATE INDEX hourly_aggregates_hour ON hourly_aggregates(hour_start)",
       }},
      {7,
       "plans and contracts: the provider's plans (checked against 要件 7) and the customers' "
       "contracts binding a plan, devices and an insurance policy",
       {
           // A plan's members live in body (its JSON form); name and status are for listings.
           "CREATE TABLE plans (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, "
           "body TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
           "CREATE TABLE contracts (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES "
           "customers(id), plan_id TEXT NOT NULL REFERENCES plans(id), devices BIGINT NOT NULL, "
           "device_ids TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL, "
           "insurance_policy TEXT NOT NULL, insurance_until TEXT NOT NULL, status TEXT NOT NULL, "
           "renewals BIGINT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX contracts_customer ON contracts(customer_id, created_at)",
       }},
      {8,
       "desk: tickets, their messages and attachments, SLA pauses, the triage inbox; threaded "
       "e-mail in the outbox",
       {
           // One ticket of the desk (相談窓口). security: on the 24-hour clock. waiting_since:
           // when the desk began waiting on the customer (0: not waiting); the finished waits
           // are desk_pauses. sla_notified: the SLA notices already queued (first.warning …).
           "CREATE TABLE desk_tickets (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL "
           "REFERENCES customers(id), subject TEXT NOT NULL, category TEXT NOT NULL, priority "
           "TEXT NOT NULL, status TEXT NOT NULL, security INTEGER NOT NULL DEFAULT 0, assignee "
           "TEXT, requester_email TEXT NOT NULL, requester_name TEXT NOT NULL, source TEXT NOT "
           "NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT "
           "NULL, first_response_at BIGINT NOT NULL DEFAULT 0, resolved_at BIGINT NOT NULL "
           "DEFAULT 0, closed_at BIGINT NOT NULL DEFAULT 0, waiting_since BIGINT NOT NULL "
           "DEFAULT 0, sla_notified TEXT NOT NULL DEFAULT '')",
           "CREATE INDEX desk_tickets_customer ON desk_tickets(customer_id, status)",
           "CREATE INDEX desk_tickets_status ON desk_tickets(status, created_at)",
           // Replies (public) and internal notes; mail_message_id: the Message-ID of the mail
           // that brought or carried it, for threading.
           "CREATE TABLE desk_messages (id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL, at BIGINT NOT NULL, author TEXT NOT NULL, author_kind "
           "TEXT NOT NULL, visibility TEXT NOT NULL, body TEXT NOT NULL, via TEXT NOT NULL, "
           "mail_message_id TEXT)",
           "CREATE INDEX desk_messages_ticket ON desk_messages(ticket_id, at)",
           "CREATE INDEX desk_messages_mail ON desk_messages(mail_message_id)",
           // Attachments, base64 in data (the same column type on both backends), by SHA-256.
           "CREATE TABLE desk_attachments (id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, "
           "message_id TEXT NOT NULL, customer_id TEXT NOT NULL, filename TEXT NOT NULL, "
           "content_type TEXT NOT NULL, sniffed_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 "
           "TEXT NOT NULL, data TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX desk_attachments_ticket ON desk_attachments(ticket_id)",
           "CREATE TABLE desk_pauses (ticket_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
           "from_us BIGINT NOT NULL, to_us BIGINT NOT NULL, PRIMARY KEY (ticket_id, from_us))",
           // Mail from senders who are no known contact of a customer (provider roles only),
           // kept whole (raw, base64) so that assigning it to a customer loses nothing.
           "CREATE TABLE desk_inbox (id TEXT PRIMARY KEY, received_at BIGINT NOT NULL, "
           "from_address TEXT NOT NULL, from_name TEXT NOT NULL, subject TEXT NOT NULL, body "
           "TEXT NOT NULL, mail_message_id TEXT, attachments BIGINT NOT NULL DEFAULT 0, status "
           "TEXT NOT NULL, ticket_id TEXT, raw TEXT NOT NULL)",
           "CREATE INDEX desk_inbox_status ON desk_inbox(status, received_at)",
           // A mail of the outbox that answers another: its Reply-To and References (the last
           // one is also In-Reply-To).
           "ALTER TABLE outbox ADD COLUMN mail_reply_to TEXT",
           "ALTER TABLE outbox ADD COLUMN mail_references TEXT",
       }},
      {9,
       "desk FAQ: canned answers of the desk, the public ones shown in the customer portal",
       {
           // Provider-wide (no customer): question, answer, category, tags (one a line);
           // is_public: shown to customers.
           "CREATE TABLE desk_faq (id TEXT PRIMARY KEY, question TEXT NOT NULL, answer TEXT NOT "
           "NULL, category TEXT NOT NULL, is_public INTEGER NOT NULL DEFAULT 0, tags TEXT NOT "
           "NULL DEFAULT '', created_by TEXT NOT NULL, updated_by TEXT NOT NULL, created_at "
           "BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
           "CREATE INDEX desk_faq_updated ON desk_faq(updated_at)",
       }},
      {10,
       "insurance: the policy of a contract, claims raised from incidents and their cost lines",
       {
           // One policy per contract; items: the coverage items as JSON text ([{item, limit,
           // deductible}], yen); customer_text: what the customer still pays, in plain words.
           "CREATE TABLE insurance_policies (id TEXT PRIMARY KEY, contract_id TEXT NOT NULL "
           "UNIQUE REFERENCES contracts(id), customer_id TEXT NOT NULL REFERENCES customers(id), "
           "insurer TEXT NOT NULL, policy_number TEXT NOT NULL, start_date TEXT NOT NULL, "
           "end_date TEXT NOT NULL, items TEXT NOT NULL, customer_text TEXT NOT NULL, created_at "
           "BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
           "CREATE INDEX insurance_policies_customer ON insurance_policies(customer_id)",
           // A claim of an incident: draft, submitted, paid, denied; ticket_ids: linked desk
           // tickets as a JSON array.
           "CREATE TABLE insurance_claims (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL REFERENCES customers(id), contract_id TEXT NOT NULL, "
           "policy_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL, ticket_ids TEXT "
           "NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT "
           "NULL, submitted_at BIGINT NOT NULL DEFAULT 0, decided_at BIGINT NOT NULL DEFAULT 0)",
           "CREATE INDEX insurance_claims_incident ON insurance_claims(incident_id, created_at)",
           // Cost lines in whole yen; incurred_on: the JST day the cost arose (YYYY-MM-DD).
           "CREATE TABLE insurance_claim_lines (id TEXT PRIMARY KEY, claim_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL, description TEXT NOT NULL, item TEXT NOT NULL, "
           "incurred_on TEXT NOT NULL, amount BIGINT NOT NULL, created_by TEXT NOT NULL, "
           "created_at BIGINT NOT NULL)",
           "CREATE INDEX insurance_claim_lines_claim ON insurance_claim_lines(claim_id, "
           "created_at)",
       }},
      {11,
       "compact raw events: zstd-compressed blocks with the filtered fields as columns",
       {
           // A block: one device's events of one type and UTC day from one commit group
           // (store/event_blocks.cc); data is the records compressed together. first_seq is
           // within 65,536 of every sequence number in the block, which bounds the look-up of
           // a key. events: how many; raw_bytes: their size before compression. New events go
           // here; rows of the events table stay readable and expire by the same rules.
           "CREATE TABLE event_blocks (device_id TEXT NOT NULL, first_seq BIGINT NOT NULL, "
           "last_seq BIGINT NOT NULL, customer_id TEXT NOT NULL, event_type TEXT NOT NULL, "
           "ts_min BIGINT NOT NULL, ts_max BIGINT NOT NULL, received_at BIGINT NOT NULL, events "
           "BIGINT NOT NULL, raw_bytes BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY "
           "(device_id, first_seq))",
           // Expiry walks blocks by their newest event: a block goes when all of it is due.
           "CREATE INDEX event_blocks_ts ON event_blocks(ts_max)",
       }},
      {12,
       "monthly report mail: an outbox message may carry one attachment (base64); customers "
       "may turn the report mail off; the customer-months already mailed",
       {
           "ALTER TABLE outbox ADD COLUMN attachment_name TEXT",
           "ALTER TABLE outbox ADD COLUMN attachment_type TEXT",
           "ALTER TABLE outbox ADD COLUMN attachment TEXT",
           "ALTER TABLE customers ADD COLUMN report_mail INTEGER NOT NULL DEFAULT 1",
           // One row per customer and JST month whose report was queued (messages: how many
           // contacts); its primary key makes the mailing once-only across restarts and
           // instances.
           "CREATE TABLE report_mailings (customer_id TEXT NOT NULL REFERENCES customers(id), "
           "month TEXT NOT NULL, messages BIGINT NOT NULL, created_at BIGINT NOT NULL, PRIMARY "
           "KEY (customer_id, month))",
       }},
      {13,
       "dispatch: technician profiles, dispatches with their steps, actions and evidence, and "
       "the idempotency keys of their requests",
       {
           // A provider user's profile as a technician: skills, prefectures served, weekly
           // availability windows in JST, each list newline-separated.
           "CREATE TABLE technicians (user_id TEXT PRIMARY KEY REFERENCES users(id), skills TEXT "
           "NOT NULL, prefectures TEXT NOT NULL, availability TEXT NOT NULL, updated_at BIGINT "
           "NOT NULL)",
           // One dispatch (駆け付け) of an incident or a desk ticket. promise_source: the plan
           // whose on-site term gave promised_at, or 'config'. late_warned_at: when the missed
           // arrival was told (0: not yet), so it is told once.
           "CREATE TABLE dispatches (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES "
           "customers(id), incident_id TEXT, ticket_id TEXT, kind TEXT NOT NULL, state TEXT NOT "
           "NULL, summary TEXT NOT NULL, remote_done TEXT NOT NULL DEFAULT '', remote_outcome "
           "TEXT NOT NULL DEFAULT '', prefecture TEXT NOT NULL DEFAULT '', address TEXT NOT NULL "
           "DEFAULT '', skills TEXT NOT NULL DEFAULT '', technician_id TEXT, requested_at BIGINT "
           "NOT NULL DEFAULT 0, promised_at BIGINT NOT NULL DEFAULT 0, onsite_hours BIGINT NOT "
           "NULL DEFAULT 0, promise_source TEXT NOT NULL DEFAULT '', signoff_name TEXT NOT NULL "
           "DEFAULT '', signoff_at BIGINT NOT NULL DEFAULT 0, late_warned_at BIGINT NOT NULL "
           "DEFAULT 0, created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT "
           "NOT NULL)",
           "CREATE INDEX dispatches_customer ON dispatches(customer_id, created_at)",
           "CREATE INDEX dispatches_incident ON dispatches(incident_id)",
           "CREATE INDEX dispatches_technician ON dispatches(technician_id, state)",
           "CREATE INDEX dispatches_state ON dispatches(state, promised_at)",
           // Its history: each state reached, remote support recorded, each action line.
           "CREATE TABLE dispatch_steps (id TEXT PRIMARY KEY, dispatch_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL, at BIGINT NOT NULL, state TEXT NOT NULL, actor TEXT NOT "
           "NULL, note TEXT NOT NULL)",
           "CREATE INDEX dispatch_steps_dispatch ON dispatch_steps(dispatch_id, at)",
           // Evidence (photos, files), base64 in data like desk attachments, by SHA-256.
           "CREATE TABLE dispatch_evidence (id TEXT PRIMARY KEY, dispatch_id TEXT NOT NULL, "
           "customer_id TEXT NOT NULL, filename TEXT NOT NULL, content_type TEXT NOT NULL, "
           "sniffed_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, actor TEXT "
           "NOT NULL, data TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX dispatch_evidence_dispatch ON dispatch_evidence(dispatch_id)",
           // A request that changed a dispatch, by the actor's Idempotency-Key: the same key
           // again answers what the first answered and changes nothing.
           "CREATE TABLE dispatch_requests (actor TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
           "dispatch_id TEXT NOT NULL, status BIGINT NOT NULL DEFAULT 0, answer TEXT NOT NULL "
           "DEFAULT '', created_at BIGINT NOT NULL, PRIMARY KEY (actor, idempotency_key))",
       }},
      {14,
       "console listings at a provider's scale: indexes in the order of the incident queue, "
       "the alert list and an incident's alerts",
       {
           // The queue's page (a status, most severe and most recently changed first) and the
           // listing of every status, read in index order instead of sorting every incident.
           "CREATE INDEX incidents_queue ON incidents(status, severity_rank DESC, updated_at "
           "DESC, id)",
           "CREATE INDEX incidents_order ON incidents(severity_rank DESC, updated_at DESC, id)",
           // The newest alerts of all customers, without sorting a million rows.
           "CREATE INDEX alerts_seen ON alerts(last_seen DESC, id)",
           // An incident's alerts (the incident page), without reading all of its customer's.
           "CREATE INDEX alerts_incident ON alerts(incident_id, first_seen)",
       }},
      {15,
       "customers: the prefecture where each is served on site (the self-check's dispatch cover)",
       {
           // One of the 47 prefectures (東京都 …); '' when not recorded.
           "ALTER TABLE customers ADD COLUMN prefecture TEXT NOT NULL DEFAULT ''",
       }},
      {16,
       "console listings at a provider's scale: customers by name, devices by customer and host "
       "name, one customer's alerts newest first, each read in its index's order",
       {
           // The customer list and picker (ORDER BY name, id) without sorting every customer.
           "CREATE INDEX customers_name ON customers(name, id)",
           // The device list (ORDER BY customer_id, hostname, id), all or one customer's; it
           // serves whatever devices_customer served.
           "CREATE INDEX devices_order ON devices(customer_id, hostname, id)",
           "DROP INDEX devices_customer",
           // One customer's newest alerts (ORDER BY last_seen DESC, id) with no sort of the
           // customer's ties; it serves whatever alerts_customer_seen served.
           "CREATE INDEX alerts_customer_newest ON alerts(customer_id, last_seen DESC, id)",
           "DROP INDEX alerts_customer_seen",
       }},
      {17,
       "hourly aggregates folded: one compact row per customer and closed hour",
       {
           // Once an hour is over (when its talkers and domains are cut to the top), its rows
           // of hourly_aggregates become one row here: data is its (metric, item, value) list,
           // zstd-compressed (retention/aggregates.cc). Rows that arrive for the hour later
           // are added to it by the next fold, or read beside it.
           "CREATE TABLE hourly_aggregate_blocks (customer_id TEXT NOT NULL, hour_start BIGINT "
           "NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (customer_id, hour_start))",
           "CREATE INDEX hourly_aggregate_blocks_hour ON hourly_aggregate_blocks(hour_start)",
       }},
  };
  return kMigrations;
}

Status apply_migrations(SqlTx& tx) {
  auto st = tx.q(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description "
      "TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  if (!st.ok()) return st.error();
  auto cur = tx.q("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!cur.ok()) return cur.error();
  const int64_t have = cur->i64(0, 0);
  const int64_t known = migrations().empty() ? 0 : migrations().back().version;
  // Opening it anyway would run today's queries on tables they do not know, and a later
  // migration of the same number would be skipped.
  if (have > known) {
    return core::make_error(
        "the database was made by a newer mimamori-server: schema version {}, this one knows up "
        "to {}; run that version or a newer one on it",
        have, known);
  }
  // Every pending migration runs in the caller's one transaction (DDL included, on both
  // backends): a failure rolls all of them back with their version rows, and the database
  // stays exactly as this start found it.
  for (const auto& m : migrations()) {
    if (m.version <= have) continue;
    for (auto sql : m.statements) {
      if (auto r = tx.q(sql); !r.ok()) {
        return core::make_error(
            "migration {} ({}) from schema version {} failed at \"{}\": {}; nothing was changed",
            m.version, m.description, have, sql, r.error().message);
      }
    }
    if (auto r = tx.q("INSERT INTO schema_migrations (version, description, applied_at) VALUES "
                      "($1, $2, $3)",
                      {sp(m.version), sp(m.description), sp(core::now().micros)});
        !r.ok()) {
      return core::make_error("migration {} ({}): recording the version failed: {}", m.version,
                              m.description, r.error().message);
    }
  }
  return {};
}

}  // namespace mimamori::server
