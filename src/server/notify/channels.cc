// Notification channels, the outbox and the on-call rotation: their rows, tenant-scoped
// through the store's access check and audit log.

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "notify/notify.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kOutboxColumns =
    "id, COALESCE(customer_id, ''), channel_id, kind, target, COALESCE(secret, ''), "
    "idempotency_key, subject, body, status, COALESCE(last_error, ''), attempts, "
    "next_attempt_at, created_at, sent_at, COALESCE(mail_reply_to, ''), "
    "COALESCE(mail_references, ''), COALESCE(attachment_name, ''), COALESCE(attachment_type, "
    "''), COALESCE(attachment, '')";
constexpr int64_t kMaxAttempts = 8;

// A message of the outbox; its target and secret opened (the error names the row).
Result<OutboxMessage> outbox_from(const SqlRows& r, size_t i, const SecretBox& box) {
  OutboxMessage m;
  m.id = r.str(i, 0);
  m.customer_id = r.str(i, 1);
  m.channel_id = r.str(i, 2);
  m.kind = r.str(i, 3);
  auto target = box.open_target(m.kind, r.str(i, 4), fmt::format("outbox.target of {}", m.id));
  if (!target.ok()) return target.error();
  m.target = std::move(*target);
  auto secret = box.open(r.str(i, 5), fmt::format("outbox.secret of {}", m.id));
  if (!secret.ok()) return secret.error();
  m.secret = std::move(*secret);
  m.idempotency_key = r.str(i, 6);
  m.subject = r.str(i, 7);
  m.body = r.str(i, 8);
  m.status = r.str(i, 9);
  m.last_error = r.str(i, 10);
  m.attempts = r.i64(i, 11);
  m.next_attempt_at = r.i64(i, 12);
  m.created_at = r.i64(i, 13);
  m.sent_at = r.i64(i, 14);
  m.mail_reply_to = r.str(i, 15);
  m.mail_references = r.str(i, 16);
  m.attachment_name = r.str(i, 17);
  m.attachment_type = r.str(i, 18);
  m.attachment_base64 = r.str(i, 19);
  return m;
}

bool known_kind(std::string_view k) {
  return k == "email" || k == "webhook" || k == "slack" || k == "teams" || k == "line";
}

// Webhook, Slack and Teams channels post to a URL the server connects to: the provider sets
// them up (provider_admin). Customers manage their own e-mail and LINE channels.
Status may_manage_kind(Store& store, const Principal& p, std::string_view kind,
                       std::string_view action, std::string_view id, std::string_view customer_id) {
  if (p.is_system || p.role == Role::kProviderAdmin || kind == "email" || kind == "line") {
    return {};
  }
  (void)store.audit(p, action, "channel", id, customer_id, {},
                    fmt::format("{{\"kind\":\"{}\"}}", kind), "denied");
  return core::make_error_code(403,
                               "a {} channel is set up by the provider (provider_admin); role {} "
                               "may manage only e-mail and LINE channels",
                               kind, role_name(p.role));
}

}  // namespace

Result<Channel> create_channel(Store& store, const Principal& p, Channel c) {
  if (c.customer_id.empty()) {
    if (!p.is_system && p.role != Role::kProviderAdmin) {
      (void)store.audit(p, "channel.create", "channel", "-", {}, {}, {}, "denied");
      return core::make_error_code(403, "only a provider_admin creates provider channels");
    }
  } else if (auto a =
                 store.allow(p, c.customer_id, true, "channel.create", "customer", c.customer_id);
             !a.ok()) {
    return a.error();
  }
  if (!known_kind(c.kind)) {
    return core::make_error_code(400,
                                 "channel kind '{}' is unknown (email, webhook, slack, "
                                 "teams, line)",
                                 c.kind);
  }
  if (auto a = may_manage_kind(store, p, c.kind, "channel.create", "-", c.customer_id); !a.ok()) {
    return a.error();
  }
  if (c.target.empty()) return core::make_error_code(400, "a channel needs a target");
  if (c.kind == "email") {
    if (auto a = check_mailbox(c.target); !a.ok()) {
      return core::make_error_code(400, "member 'target': an email channel's target is {}",
                                   a.error().message);
    }
  }
  if (c.kind != "email" && c.kind != "line" && !c.target.starts_with("https://") &&
      !c.target.starts_with("http://")) {
    return core::make_error_code(400, "a {} channel's target must be an http(s) URL", c.kind);
  }
  if (severity_rank(c.min_severity) == 0 && c.min_severity != "info") {
    return core::make_error_code(400, "min_severity '{}' is unknown", c.min_severity);
  }
  c.id = random_id("chn");
  auto target = store.secrets().seal_target(c.kind, c.target);
  if (!target.ok()) return target.error();
  auto secret = store.secrets().seal(c.secret);
  if (!secret.ok()) return secret.error();
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    if (!c.customer_id.empty()) {
      auto cus = tx.q("SELECT id FROM customers WHERE id = $1", {sp(c.customer_id)});
      if (!cus.ok()) return cus.error();
      if (cus->empty()) return core::make_error_code(404, "customer '{}' not found", c.customer_id);
    }
    auto r = tx.q(
        "INSERT INTO channels (id, customer_id, name, kind, target, secret, min_severity, "
        "enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {sp(c.id), sp_or_null(c.customer_id), sp(c.name), sp(c.kind), sp(*target),
         sp_or_null(*secret), sp(c.min_severity), sp(c.enabled ? 1 : 0), sp(core::now().micros)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "channel.create", "channel", c.id, c.customer_id, {},
                          fmt::format("{{\"kind\":\"{}\"}}", c.kind), "ok");
  });
  if (!st.ok()) return st.error();
  return c;
}

Result<std::vector<Channel>> list_channels(Store& store, const Principal& p,
                                           std::string_view customer_id) {
  if (!is_provider_role(p.role) && customer_id.empty()) customer_id = p.customer_id;
  if (!customer_id.empty() || !is_provider_role(p.role)) {
    if (auto a = store.allow(p, customer_id, false, "channel.list", "customer", customer_id);
        !a.ok()) {
      return a.error();
    }
  }
  std::vector<Channel> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, COALESCE(customer_id, ''), kind, target, name, min_severity, enabled FROM "
        "channels WHERE ($1 = '' OR customer_id = $1) ORDER BY created_at, id",
        {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      Channel c;
      c.id = r->str(i, 0);
      c.customer_id = r->str(i, 1);
      c.kind = r->str(i, 2);
      auto target = store.secrets().open_target(c.kind, r->str(i, 3),
                                                fmt::format("channels.target of {}", c.id));
      if (!target.ok()) return target.error();
      c.target = std::move(*target);
      c.name = r->str(i, 4);
      c.min_severity = r->str(i, 5);
      c.enabled = r->i64(i, 6) != 0;
      out.push_back(std::move(c));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status delete_channel(Store& store, const Principal& p, std::string_view id) {
  std::string customer, kind;
  bool found = false;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT COALESCE(customer_id, ''), kind FROM channels WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) {
      found = true;
      customer = r->str(0, 0);
      kind = r->str(0, 1);
    }
    return {};
  });
  if (!st.ok()) return st;
  if (customer.empty() && found) {
    if (p.role != Role::kProviderAdmin) {
      (void)store.audit(p, "channel.delete", "channel", id, {}, {}, {}, "denied");
      return core::make_error_code(is_provider_role(p.role) ? 403 : 404,
                                   "channel '{}' may not be deleted", id);
    }
  } else if (auto a = store.allow(p, customer, true, "channel.delete", "channel", id); !a.ok()) {
    return a;
  }
  if (!found) return core::make_error_code(404, "channel '{}' not found", id);
  if (auto a = may_manage_kind(store, p, kind, "channel.delete", id, customer); !a.ok()) return a;
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("DELETE FROM channels WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "channel.delete", "channel", id, customer, {}, {}, "ok");
  });
}

Result<std::vector<OnCallEntry>> set_oncall(Store& store, const Principal& p,
                                            const std::vector<OnCallEntry>& rotation) {
  if (!p.is_system && p.role != Role::kProviderAdmin) {
    (void)store.audit(p, "oncall.set", "oncall", "-", {}, {}, {}, "denied");
    return core::make_error_code(is_provider_role(p.role) ? 403 : 404,
                                 "only a provider_admin sets the on-call rotation");
  }
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("DELETE FROM oncall");
    if (!r.ok()) return r.error();
    int64_t pos = 0;
    for (const auto& e : rotation) {
      auto u = tx.q("SELECT role FROM users WHERE id = $1", {sp(e.user_id)});
      if (!u.ok()) return u.error();
      if (u->empty()) return core::make_error_code(400, "on-call user '{}' not found", e.user_id);
      auto role = parse_role(u->str(0, 0));
      if (!role || !is_provider_role(*role)) {
        return core::make_error_code(400, "on-call user '{}' is not a provider user", e.user_id);
      }
      r = tx.q("INSERT INTO oncall (position, user_id, channel_id) VALUES ($1, $2, $3)",
               {sp(pos++), sp(e.user_id), sp_or_null(e.channel_id)});
      if (!r.ok()) return r.error();
    }
    return store.audit_in(tx, p, "oncall.set", "oncall", "-", {}, {},
                          fmt::format("{{\"members\":{}}}", rotation.size()), "ok");
  });
  if (!st.ok()) return st.error();
  return list_oncall(store, p);
}

Result<std::vector<OnCallEntry>> list_oncall(Store& store, const Principal& p) {
  if (!is_provider_role(p.role) && !p.is_system) {
    return store.allow(p, "", false, "oncall.list", "oncall", "-").error();
  }
  std::vector<OnCallEntry> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT o.position, o.user_id, u.email, COALESCE(o.channel_id, '') FROM oncall o JOIN "
        "users u ON u.id = o.user_id ORDER BY o.position");
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(OnCallEntry{r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<OutboxMessage>> list_outbox(Store& store, const Principal& p,
                                               std::string_view customer_id, int64_t limit) {
  if (!is_provider_role(p.role) && customer_id.empty()) customer_id = p.customer_id;
  if (!customer_id.empty() || !is_provider_role(p.role)) {
    if (auto a = store.allow(p, customer_id, false, "outbox.list", "customer", customer_id);
        !a.ok()) {
      return a.error();
    }
  }
  std::vector<OutboxMessage> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM outbox WHERE ($1 = '' OR customer_id = $1) ORDER "
                              "BY created_at DESC, id LIMIT {}",
                              kOutboxColumns, limit <= 0 ? 100 : std::min<int64_t>(limit, 1000)),
                  {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      auto m = outbox_from(*r, i, store.secrets());
      if (!m.ok()) return m.error();
      m->secret.clear();
      out.push_back(std::move(*m));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> outbox_counts(Store& store) {
  std::vector<std::pair<std::string, int64_t>> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status");
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.emplace_back(r->str(i, 0), r->i64(i, 1));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<OutboxMessage>> claim_outbox(Store& store, int64_t now, int64_t n,
                                                const OutboxFilter& accept, int64_t scan) {
  std::vector<OutboxMessage> out;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    out.clear();
    // A message stuck in 'sending' (its instance died mid-delivery) is due again after 5 min.
    std::string sql = fmt::format(
        "SELECT {} FROM outbox WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = "
        "'sending' AND next_attempt_at <= $2) ORDER BY next_attempt_at, id LIMIT {}",
        kOutboxColumns, accept ? std::max(n, scan) : n);
    if (tx.dialect() == Dialect::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
    auto r = tx.q(sql, {sp(now), sp(now - 300 * 1000000LL)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size() && static_cast<int64_t>(out.size()) < n; ++i) {
      auto m = outbox_from(*r, i, store.secrets());
      if (!m.ok()) {
        // Never deliverable (its key is gone or the row was altered): failed, not retried, and
        // the others still go out.
        spdlog::error("outbox: {}", m.error().message);
        auto f = tx.q("UPDATE outbox SET status = 'failed', last_error = $2 WHERE id = $1",
                      {sp(r->str(i, 0)), sp(m.error().message)});
        if (!f.ok()) return f.error();
        continue;
      }
      if (accept && !accept(*m, out)) continue;
      auto u = tx.q(
          "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 "
          "WHERE id = $1",
          {sp(m->id), sp(now)});
      if (!u.ok()) return u.error();
      m->attempts += 1;
      out.push_back(std::move(*m));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status finish_outbox(Store& store, std::string_view id, bool ok, std::string_view error,
                     int64_t now, bool permanent) {
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT attempts FROM outbox WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(404, "outbox message '{}' not found", id);
    int64_t attempts = r->i64(0, 0);
    if (ok) {
      auto u =
          tx.q("UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1",
               {sp(id), sp(now)});
      return u.ok() ? Status{} : Status{u.error()};
    }
    // Exponential backoff: 10 s, 20 s, 40 s, ... up to 8 attempts, then 'failed'.
    int64_t delay = 10'000'000LL << std::min<int64_t>(attempts - 1, 10);
    auto u =
        tx.q("UPDATE outbox SET status = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1",
             {sp(id), sp(permanent || attempts >= kMaxAttempts ? "failed" : "pending"), sp(error),
              sp(now + delay)});
    return u.ok() ? Status{} : Status{u.error()};
  });
}

}  // namespace mimamori::server
