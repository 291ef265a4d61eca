// What goes into the outbox and when: the "opened" message of a new incident for every channel
// that wants its severity, and the escalation of unacknowledged critical incidents along the
// on-call rotation. At-least-once: idempotency keys make a repeat a no-op.

#include "mimamori/core/clock.h"
#include "notify/notify.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {

Status enqueue_incident_notifications(SqlTx& tx, std::string_view customer_id,
                                      std::string_view incident_id, std::string_view severity,
                                      std::string_view subject, std::string_view body,
                                      int64_t now) {
  // The customer's own channels and the provider's (customer_id NULL); one message per
  // incident and channel, about that one customer only.
  auto ch = tx.q(
      "SELECT id, kind, target, COALESCE(secret, ''), min_severity, COALESCE(customer_id, '') "
      "FROM channels WHERE enabled = 1 AND (customer_id = $1 OR customer_id IS NULL)",
      {sp(customer_id)});
  if (!ch.ok()) return ch.error();
  for (size_t i = 0; i < ch->size(); ++i) {
    if (severity_rank(severity) < severity_rank(ch->str(i, 4))) continue;
    auto r = tx.q(
        "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, "
        "idempotency_key, subject, body, status, next_attempt_at, created_at) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) ON CONFLICT (idempotency_key) DO "
        "NOTHING",
        {sp(random_id("msg")), sp(customer_id), sp(ch->str(i, 0)), sp(ch->str(i, 1)),
         sp(ch->str(i, 2)), sp_or_null(ch->str(i, 3)),
         sp(fmt::format("{}:{}:opened", incident_id, ch->str(i, 0))), sp(subject), sp(body),
         sp(now)});
    if (!r.ok()) return r.error();
  }
  return {};
}

Result<int64_t> escalate(Store& store, int64_t now, int64_t after_s) {
  int64_t escalated = 0;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto rot = tx.q(
        "SELECT o.user_id, u.email, COALESCE(o.channel_id, '') FROM oncall o JOIN users u ON "
        "u.id = o.user_id ORDER BY o.position");
    if (!rot.ok()) return rot.error();
    if (rot->empty()) return {};
    std::string sql =
        "SELECT id, customer_id, title, escalation_level FROM incidents WHERE severity = "
        "'critical' AND status = 'open' AND acknowledged_at = 0 AND created_at + (escalation_level "
        "+ 1) * $2 <= $1 ORDER BY created_at LIMIT 100";
    if (tx.dialect() == Dialect::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
    auto r = tx.q(sql, {sp(now), sp(after_s * 1000000)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      int64_t level = r->i64(i, 3);
      size_t who = static_cast<size_t>(level) % rot->size();
      std::string kind = "email", target = rot->str(who, 1), secret, channel = "oncall";
      if (!rot->str(who, 2).empty()) {
        auto ch = tx.q("SELECT kind, target, COALESCE(secret, '') FROM channels WHERE id = $1",
                       {sp(rot->str(who, 2))});
        if (!ch.ok()) return ch.error();
        if (!ch->empty()) {
          kind = ch->str(0, 0);
          target = ch->str(0, 1);
          secret = ch->str(0, 2);
          channel = rot->str(who, 2);
        }
      }
      // The title carries device text (a host name): one capped line; channels escape it.
      const std::string title = field_value(r->str(i, 2));
      std::string subject = fmt::format("[見守り][エスカレーション{}] {}", level + 1, title);
      std::string body = fmt::format(
          "未確認の重大インシデントがあります。確認してください。\n{}\nインシデント: {}\n", title,
          r->str(i, 0));
      auto ins = tx.q(
          "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, "
          "idempotency_key, subject, body, status, next_attempt_at, created_at) VALUES ($1, $2, "
          "$3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) ON CONFLICT (idempotency_key) DO "
          "NOTHING",
          {sp(random_id("msg")), sp(r->str(i, 1)), sp(channel), sp(kind), sp(target),
           sp_or_null(secret), sp(fmt::format("{}:escalation:{}", r->str(i, 0), level + 1)),
           sp(subject), sp(body), sp(now)});
      if (!ins.ok()) return ins.error();
      auto u = tx.q(
          "UPDATE incidents SET escalation_level = escalation_level + 1, escalated_at = $2 WHERE "
          "id = $1",
          {sp(r->str(i, 0)), sp(now)});
      if (!u.ok()) return u.error();
      auto t = tx.q(
          "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
          "VALUES ($1, $2, $3, $4, 'system', 'escalated', $5)",
          {sp(random_id("tl")), sp(r->str(i, 0)), sp(r->str(i, 1)), sp(now),
           sp(fmt::format("{} にエスカレーションしました", rot->str(who, 1)))});
      if (!t.ok()) return t.error();
      ++escalated;
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return escalated;
}

}  // namespace mimamori::server
