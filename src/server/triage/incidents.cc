// Reading alerts and incidents, changing incidents, suppression rules. Every query carries the
// tenant: customer roles are pinned to their own customer before the SQL is built.

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "secrets.h"
#include "store/sql.h"
#include "triage/triage.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kAlertColumns =
    "id, customer_id, device_id, source, category, severity, signature, src_ip, dest_ip, "
    "signature_id, first_seen, last_seen, count, COALESCE(incident_id, ''), suppressed";
constexpr std::string_view kIncidentColumns =
    "id, customer_id, title, category, severity, status, COALESCE(assignee, ''), "
    "COALESCE(resolution, ''), host, created_at, updated_at, acknowledged_at, closed_at, "
    "alert_count";

AlertRow alert_from(const SqlRows& r, size_t i) {
  AlertRow a;
  a.id = r.str(i, 0);
  a.customer_id = r.str(i, 1);
  a.device_id = r.str(i, 2);
  a.source = r.str(i, 3);
  a.category = r.str(i, 4);
  a.severity = r.str(i, 5);
  a.signature = r.str(i, 6);
  a.src_ip = r.str(i, 7);
  a.dest_ip = r.str(i, 8);
  a.signature_id = r.i64(i, 9);
  a.first_seen = r.i64(i, 10);
  a.last_seen = r.i64(i, 11);
  a.count = r.i64(i, 12);
  a.incident_id = r.str(i, 13);
  a.suppressed = r.i64(i, 14) != 0;
  return a;
}

Incident incident_from(const SqlRows& r, size_t i) {
  Incident x;
  x.id = r.str(i, 0);
  x.customer_id = r.str(i, 1);
  x.title = r.str(i, 2);
  x.category = r.str(i, 3);
  x.severity = r.str(i, 4);
  x.status = r.str(i, 5);
  x.assignee = r.str(i, 6);
  x.resolution = r.str(i, 7);
  x.host = r.str(i, 8);
  x.created_at = r.i64(i, 9);
  x.updated_at = r.i64(i, 10);
  x.acknowledged_at = r.i64(i, 11);
  x.closed_at = r.i64(i, 12);
  x.alert_count = r.i64(i, 13);
  return x;
}

// The WHERE clause of a listing, from the filters that were given.
struct Where {
  std::vector<std::string> terms;
  std::vector<SqlParam> params;

  size_t next() const { return params.size() + 1; }
  void add(std::string term, SqlParam p) {
    terms.push_back(std::move(term));
    params.push_back(std::move(p));
  }
  void eq(std::string_view column, const std::string& value) {
    if (!value.empty()) add(fmt::format("{} = ${}", column, next()), sp(value));
  }
  std::string sql() const {
    std::string out;
    for (const auto& t : terms) out += (out.empty() ? " WHERE " : " AND ") + t;
    return out;
  }
};

int64_t clamp_limit(int64_t limit) { return limit <= 0 ? 100 : std::min<int64_t>(limit, 1000); }

std::string state_json(const Incident& x) {
  std::string j = "{\"status\":";
  core::append_json_string(j, x.status);
  j += ",\"assignee\":";
  core::append_json_string(j, x.assignee);
  j += ",\"resolution\":";
  core::append_json_string(j, x.resolution);
  j += '}';
  return j;
}

}  // namespace

Result<std::vector<AlertRow>> list_alerts(Store& store, const Principal& p, const AlertQuery& in) {
  AlertQuery q = in;
  if (!is_provider_role(p.role) && !p.is_system) {
    if (!q.customer_id.empty() && q.customer_id != p.customer_id) {
      return store.allow(p, q.customer_id, false, "alert.list", "customer", q.customer_id).error();
    }
    q.customer_id = p.customer_id;
  }
  if (p.is_device) return core::make_error_code(403, "devices cannot list alerts");
  // Only the filters given go into the SQL: a condition like ($1 = '' OR customer_id = $1)
  // keeps both planners from using an index, and the newest page of a million alerts was then
  // a scan and a sort of all of them.
  Where w;
  w.eq("customer_id", q.customer_id);
  w.eq("device_id", q.device_id);
  w.eq("severity", q.severity);
  w.eq("category", q.category);
  if (!q.signature.empty()) {
    w.add(fmt::format("(signature = ${0} OR CAST(signature_id AS TEXT) = ${0})", w.next()),
          sp(q.signature));
  }
  if (!q.ip.empty()) w.add(fmt::format("(src_ip = ${0} OR dest_ip = ${0})", w.next()), sp(q.ip));
  if (q.since > 0) w.add(fmt::format("last_seen >= ${}", w.next()), sp(q.since));
  if (q.until > 0) w.add(fmt::format("first_seen <= ${}", w.next()), sp(q.until));
  std::vector<AlertRow> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.query(
        fmt::format("SELECT {} FROM alerts{} ORDER BY last_seen DESC, id "
                    "LIMIT {} OFFSET {}",
                    kAlertColumns, w.sql(), clamp_limit(q.limit), std::max<int64_t>(0, q.offset)),
        w.params);
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(alert_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<AlertRow> get_alert(Store& store, const Principal& p, std::string_view id) {
  std::optional<AlertRow> a;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM alerts WHERE id = $1", kAlertColumns), {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) a = alert_from(*r, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto d = store.allow(p, a ? a->customer_id : std::string(), false, "alert.read", "alert", id);
      !d.ok()) {
    return d.error();
  }
  if (!a) return core::make_error_code(404, "alert '{}' not found", id);
  return *a;
}

Result<std::vector<std::string>> alert_events(Store& store, const Principal& p, std::string_view id,
                                              int64_t limit) {
  auto a = get_alert(store, p, id);
  if (!a.ok()) return a.error();
  std::vector<std::string> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    // Links whose event has expired are left out (as the join of earlier versions did).
    auto r = tx.q(fmt::format("SELECT device_id, seq FROM alert_events WHERE alert_id = $1 AND "
                              "customer_id = $2 ORDER BY seq, device_id LIMIT {}",
                              clamp_limit(limit)),
                  {sp(id), sp(a->customer_id)});
    if (!r.ok()) return r.error();
    std::vector<EventKey> keys;
    for (size_t i = 0; i < r->size(); ++i) keys.push_back({r->str(i, 0), r->i64(i, 1)});
    auto raw = read_events(tx, keys);
    if (!raw.ok()) return raw.error();
    for (auto& [_, line] : *raw) out.push_back(std::move(line));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<Incident>> list_incidents(Store& store, const Principal& p,
                                             const IncidentQuery& in) {
  IncidentQuery q = in;
  if (p.is_device) return core::make_error_code(403, "devices cannot list incidents");
  if (!is_provider_role(p.role) && !p.is_system) {
    if (!q.customer_id.empty() && q.customer_id != p.customer_id) {
      return store.allow(p, q.customer_id, false, "incident.list", "customer", q.customer_id)
          .error();
    }
    q.customer_id = p.customer_id;
  }
  // As for alerts: only the filters given, so that the queue's page is read from an index.
  Where w;
  w.eq("customer_id", q.customer_id);
  w.eq("status", q.status);
  w.eq("severity", q.severity);
  w.eq("category", q.category);
  std::vector<Incident> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.query(fmt::format("SELECT {} FROM incidents{} ORDER BY severity_rank DESC, "
                                  "updated_at DESC, id LIMIT {} OFFSET {}",
                                  kIncidentColumns, w.sql(), clamp_limit(q.limit),
                                  std::max<int64_t>(0, q.offset)),
                      w.params);
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(incident_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Incident> get_incident(Store& store, const Principal& p, std::string_view id) {
  std::optional<Incident> x;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r =
        tx.q(fmt::format("SELECT {} FROM incidents WHERE id = $1", kIncidentColumns), {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) x = incident_from(*r, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto d = store.allow(p, x ? x->customer_id : std::string(), false, "incident.read",
                           "incident", id);
      !d.ok()) {
    return d.error();
  }
  if (!x) return core::make_error_code(404, "incident '{}' not found", id);
  return *x;
}

Result<std::vector<TimelineEntry>> incident_timeline(Store& store, const Principal& p,
                                                     std::string_view id) {
  auto x = get_incident(store, p, id);
  if (!x.ok()) return x.error();
  std::vector<TimelineEntry> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT at, actor, kind, text FROM incident_timeline WHERE incident_id = $1 AND "
        "customer_id = $2 ORDER BY at, id",
        {sp(id), sp(x->customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(TimelineEntry{r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<AlertRow>> incident_alerts(Store& store, const Principal& p,
                                              std::string_view id) {
  auto x = get_incident(store, p, id);
  if (!x.ok()) return x.error();
  std::vector<AlertRow> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM alerts WHERE incident_id = $1 AND customer_id = $2 "
                              "ORDER BY first_seen LIMIT 1000",
                              kAlertColumns),
                  {sp(id), sp(x->customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(alert_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Incident> change_incident(Store& store, const Principal& p, std::string_view id,
                                 const IncidentChange& c) {
  static constexpr std::string_view kStatuses[] = {"open", "acknowledged", "in_progress",
                                                   "resolved", "closed"};
  auto x = get_incident(store, p, id);
  if (!x.ok()) return x.error();
  std::string action = "incident." + c.action;
  if (auto a = store.allow(p, x->customer_id, true, action, "incident", id); !a.ok())
    return a.error();
  // The SOC status (and with it the escalation clock) is the provider's: customer roles may
  // comment and confirm what they have seen or done on their side, nothing else.
  const bool customer_role = !p.is_system && !is_provider_role(p.role);
  const char* refused = nullptr;
  if (customer_role && c.action != "comment" && c.action != "confirm") {
    refused = "customer roles may only comment on or confirm an incident";
  } else if (!customer_role && c.action == "confirm") {
    refused = "confirm records the customer's side; provider roles comment instead";
  }
  if (refused) {
    (void)store.audit(p, action, "incident", id, x->customer_id, {}, {}, "denied");
    return core::make_error_code(403, "{}", refused);
  }
  Incident before = *x;
  Incident after = *x;
  const int64_t now = core::now().micros;
  std::string text;
  if (c.action == "confirm") {
    // Recorded on the timeline only: the SOC status and the escalation clock stay as they are.
    if (c.text == "seen") {
      text = "お客様が確認しました";
    } else if (c.text == "done") {
      text = "お客様側の対応が完了しました";
    } else {
      return core::make_error_code(400, "confirm needs a state of seen or done");
    }
    if (!c.note.empty()) {
      if (c.note.size() > 10000) return core::make_error_code(400, "a note must be 0..10000 bytes");
      text += fmt::format(": {}", c.note);
    }
  } else if (c.action == "acknowledge") {
    if (after.status == "closed") return core::make_error_code(409, "incident is closed");
    after.status = "acknowledged";
    after.acknowledged_at = now;
    text = "確認しました";
  } else if (c.action == "assign") {
    if (c.text.empty()) return core::make_error_code(400, "assign needs a user id");
    auto u = store.get_user(p, c.text);
    if (!u.ok()) return core::make_error_code(400, "assignee: {}", u.error().message);
    if (!is_provider_role(u->role)) {
      return core::make_error_code(400, "assignee '{}' is not a provider user", c.text);
    }
    after.assignee = c.text;
    text = fmt::format("担当者を {} にしました", u->email);
  } else if (c.action == "comment") {
    if (c.text.empty() || c.text.size() > 10000) {
      return core::make_error_code(400, "a comment must be 1..10000 bytes");
    }
    text = c.text;
  } else if (c.action == "status") {
    if (after.status == "closed") {
      return core::make_error_code(409, "incident is closed: reopen it with a reason first");
    }
    bool known = false;
    for (auto s : kStatuses) known |= s == c.text;
    if (!known || c.text == "closed") {
      return core::make_error_code(
          400, "status must be open, acknowledged, in_progress or resolved (close with close)");
    }
    after.status = c.text;
    text = fmt::format("状態を {} にしました", c.text);
  } else if (c.action == "close") {
    if (c.text.empty()) return core::make_error_code(400, "close needs a resolution");
    after.status = "closed";
    after.resolution = c.text;
    after.closed_at = now;
    text = fmt::format("クローズしました: {}", c.text);
  } else if (c.action == "reopen") {
    // A closed incident comes back as open (its resolution and close time cleared, both kept
    // in the audit entry's before); it needs a reason, and the escalation clock runs again.
    if (after.status != "closed") return core::make_error_code(409, "incident is not closed");
    if (c.text.empty() || c.text.size() > 10000) {
      return core::make_error_code(400, "reopen needs a reason of 1..10000 bytes");
    }
    after.status = "open";
    after.resolution.clear();
    after.closed_at = 0;
    after.acknowledged_at = 0;
    text = fmt::format("再オープンしました: {}", c.text);
  } else {
    return core::make_error_code(400, "unknown incident action '{}'", c.action);
  }
  after.updated_at = now;
  if (after.acknowledged_at == 0 && c.action != "comment" && c.action != "reopen" &&
      c.action != "confirm" && is_provider_role(p.role)) {
    after.acknowledged_at = now;  // any handling by the SOC stops the escalation clock
  }
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "UPDATE incidents SET status = $2, assignee = $3, resolution = $4, updated_at = $5, "
        "acknowledged_at = $6, closed_at = $7 WHERE id = $1 AND customer_id = $8",
        {sp(id), sp(after.status), sp_or_null(after.assignee), sp_or_null(after.resolution),
         sp(now), sp(after.acknowledged_at), sp(after.closed_at), sp(after.customer_id)});
    if (!r.ok()) return r.error();
    r = tx.q(
        "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {sp(random_id("tl")), sp(id), sp(after.customer_id), sp(now), sp(p.name), sp(c.action),
         sp(text)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, action, "incident", id, after.customer_id, state_json(before),
                          state_json(after), "ok");
  });
  if (!st.ok()) return st.error();
  return after;
}

Result<SuppressionRule> create_suppression(Store& store, const Principal& p, SuppressionRule rule) {
  if (auto a = store.allow(p, rule.customer_id, true, "suppression.create", "customer",
                           rule.customer_id);
      !a.ok()) {
    return a.error();
  }
  // Customer admins may not hide alerts from the SOC: suppression is a provider decision.
  if (!is_provider_role(p.role) && !p.is_system) {
    (void)store.audit(p, "suppression.create", "customer", rule.customer_id, rule.customer_id, {},
                      {}, "denied");
    return core::make_error_code(403, "only provider_admin or analyst create suppression rules");
  }
  if (rule.reason.empty()) return core::make_error_code(400, "a suppression rule needs a reason");
  if (rule.signature_id == 0 && rule.signature.empty() && rule.src_ip.empty() &&
      rule.dest_ip.empty() && rule.device_id.empty()) {
    return core::make_error_code(400, "a suppression rule needs a scope (signature, ip, device)");
  }
  const int64_t now = core::now().micros;
  if (rule.expires_at != 0 && rule.expires_at <= now) {
    return core::make_error_code(400, "expires_at is in the past");
  }
  rule.id = random_id("sup");
  rule.created_by = p.name;
  rule.created_at = now;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT id FROM customers WHERE id = $1", {sp(rule.customer_id)});
    if (!c.ok()) return c.error();
    if (c->empty()) return core::make_error_code(404, "customer '{}' not found", rule.customer_id);
    auto r = tx.q(
        "INSERT INTO suppression_rules (id, customer_id, device_id, signature_id, signature, "
        "src_ip, dest_ip, reason, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, "
        "$6, $7, $8, $9, $10, $11)",
        {sp(rule.id), sp(rule.customer_id), sp_or_null(rule.device_id), sp(rule.signature_id),
         sp_or_null(rule.signature), sp_or_null(rule.src_ip), sp_or_null(rule.dest_ip),
         sp(rule.reason), sp(rule.created_by), sp(now), sp(rule.expires_at)});
    if (!r.ok()) return r.error();
    std::string after = "{\"reason\":";
    core::append_json_string(after, rule.reason);
    after +=
        fmt::format(",\"signature_id\":{},\"expires_at\":{}}}", rule.signature_id, rule.expires_at);
    return store.audit_in(tx, p, "suppression.create", "suppression", rule.id, rule.customer_id, {},
                          after, "ok");
  });
  if (!st.ok()) return st.error();
  return rule;
}

Result<std::vector<SuppressionRule>> list_suppressions(Store& store, const Principal& p,
                                                       std::string_view customer_id) {
  if (!is_provider_role(p.role) && customer_id.empty()) customer_id = p.customer_id;
  if (!customer_id.empty() || !is_provider_role(p.role)) {
    if (auto a = store.allow(p, customer_id, false, "suppression.list", "customer", customer_id);
        !a.ok()) {
      return a.error();
    }
  }
  std::vector<SuppressionRule> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, customer_id, COALESCE(device_id, ''), signature_id, COALESCE(signature, ''), "
        "COALESCE(src_ip, ''), COALESCE(dest_ip, ''), reason, created_by, created_at, expires_at "
        "FROM suppression_rules WHERE ($1 = '' OR customer_id = $1) ORDER BY created_at, id",
        {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      SuppressionRule s;
      s.id = r->str(i, 0);
      s.customer_id = r->str(i, 1);
      s.device_id = r->str(i, 2);
      s.signature_id = r->i64(i, 3);
      s.signature = r->str(i, 4);
      s.src_ip = r->str(i, 5);
      s.dest_ip = r->str(i, 6);
      s.reason = r->str(i, 7);
      s.created_by = r->str(i, 8);
      s.created_at = r->i64(i, 9);
      s.expires_at = r->i64(i, 10);
      out.push_back(std::move(s));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status delete_suppression(Store& store, const Principal& p, std::string_view id) {
  std::string customer;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT customer_id FROM suppression_rules WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) customer = r->str(0, 0);
    return {};
  });
  if (!st.ok()) return st;
  if (auto a = store.allow(p, customer, true, "suppression.delete", "suppression", id); !a.ok()) {
    return a;
  }
  if (!is_provider_role(p.role) && !p.is_system) {
    (void)store.audit(p, "suppression.delete", "suppression", id, customer, {}, {}, "denied");
    return core::make_error_code(403, "only provider_admin or analyst delete suppression rules");
  }
  if (customer.empty()) return core::make_error_code(404, "suppression '{}' not found", id);
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("DELETE FROM suppression_rules WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "suppression.delete", "suppression", id, customer, {}, {}, "ok");
  });
}

}  // namespace mimamori::server
