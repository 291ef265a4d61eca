// Store: opening over a backend, transactions, access checks and the audit log.

#include "mimamori/server/store.h"

#include <algorithm>
#include <charconv>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "secrets.h"
#include "store/backend.h"
#include "store/sql.h"

namespace mimamori::server {

int64_t SqlRows::i64(size_t r, size_t c) const {
  const auto& v = rows[r][c];
  if (!v) return 0;
  int64_t out = 0;
  std::from_chars(v->data(), v->data() + v->size(), out);
  return out;
}

std::string page_sql(int64_t limit, int64_t offset) {
  return fmt::format(" LIMIT {} OFFSET {}", limit <= 0 ? 100 : std::min<int64_t>(limit, 1000),
                     std::max<int64_t>(0, offset));
}

std::string sql_head(std::string_view sql) {
  return std::string(sql.substr(0, std::min<size_t>(sql.size(), 60)));
}

Store::Store(StoreOptions options, std::unique_ptr<StoreBackend> backend)
    : options_(std::move(options)), backend_(std::move(backend)) {}
Store::~Store() = default;

namespace {
// The store whose schema this thread is migrating: its own transactions (sealing plain
// secrets) run before the store is ready.
thread_local const Store* t_migrating = nullptr;
}  // namespace

Result<std::unique_ptr<Store>> Store::open(StoreOptions options,
                                           std::unique_ptr<StoreBackend> backend) {
  auto box = options.secret_key_file.empty() ? Result<SecretBox>(SecretBox())
                                             : SecretBox::load(options.secret_key_file);
  if (!box.ok()) return box.error();
  const bool wait = options.wait_for_database && backend->dialect() == Dialect::kPostgres;
  const bool down_at_open = !backend->state().up;
  auto store = std::unique_ptr<Store>(new Store(std::move(options), std::move(backend)));
  store->secrets_ = std::make_unique<SecretBox>(std::move(*box));
  if (down_at_open && wait) return store;  // migrated once the database answers
  if (auto st = store->become_ready(); !st.ok()) {
    if (wait && st.error().code == 503) return store;
    return core::Error{st.error().message, 0};
  }
  return store;
}

Status Store::become_ready() {
  std::unique_lock lock(ready_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return core::make_error_code(503, "the database schema is being migrated; try again shortly");
  }
  if (ready_.load(std::memory_order_acquire)) return {};
  const bool late =
      !not_ready_logged_.empty() || !backend_->state().up || backend_->state().since_us != 0;
  t_migrating = this;
  Status st = backend_->migrate();
  std::string failed;
  if (!st.ok()) {
    failed = fmt::format("migrating the schema failed: {}", st.error().message);
  } else if (st = seal_plain_secrets(); !st.ok()) {
    failed = fmt::format("sealing the secrets stored in plain text failed: {}", st.error().message);
  }
  t_migrating = nullptr;
  // Still away: the backend's own answer, as in any outage.
  if (!st.ok() && st.error().code == 503) return st.error();
  if (!failed.empty()) {
    // Reached but failing: said once per reason; requests get 503 meanwhile (transact).
    if (failed != not_ready_logged_ && options_.wait_for_database) {
      spdlog::error("{}; requests that need the database get 503 until this is fixed", failed);
      not_ready_logged_ = failed;
    }
    return core::Error{failed, st.error().code};
  }
  ready_.store(true, std::memory_order_release);
  if (late) {
    int64_t version = 0;
    (void)backend_->transact(false, [&](SqlTx& tx) -> Status {
      auto r = tx.q("SELECT MAX(version) FROM schema_migrations");
      if (r.ok()) version = r->i64(0, 0);
      return {};
    });
    spdlog::warn("the database answers: schema at version {}; serving requests that need it",
                 version);
  }
  return {};
}

Status Store::transact(bool write, const std::function<Status(SqlTx&)>& fn) {
  if (!ready_.load(std::memory_order_acquire) && t_migrating != this) {
    if (auto st = become_ready(); !st.ok()) {
      if (st.error().code == 503) return st;
      // Reached, but its schema cannot be made current: not this operation's fault.
      return core::Error{st.error().message, 503};
    }
  }
  return backend_->transact(write, fn);
}

Dialect Store::dialect() const { return backend_->dialect(); }

DatabaseState Store::database_state() const {
  DatabaseState s = backend_->state();
  // Connected but not yet migrated is not up: nothing can be served.
  if (!ready_.load(std::memory_order_acquire)) s.up = false;
  return s;
}

std::string_view Store::backend_name() const {
  return dialect() == Dialect::kSqlite ? "sqlite" : "postgresql";
}

Result<int64_t> Store::schema_version() {
  int64_t v = 0;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT MAX(version) FROM schema_migrations");
    if (!r.ok()) return r.error();
    v = r->i64(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  return v;
}

// --- ingest rows (the queue and its writers are in ingest/) ----------------------------

Result<int64_t> Store::count_events(std::string_view device_id) {
  int64_t n = 0;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT (SELECT COUNT(*) FROM events WHERE device_id = $1) + (SELECT "
        "COALESCE(SUM(events), 0) FROM event_blocks WHERE device_id = $1)",
        {sp(device_id)});
    if (!r.ok()) return r.error();
    n = r->i64(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  return n;
}

Result<std::vector<int64_t>> Store::stored_seqs(std::string_view device_id) {
  std::vector<int64_t> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = stored_event_seqs(tx, device_id);
    if (!r.ok()) return r.error();
    out = std::move(*r);
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

// --- access and audit -------------------------------------------------------------------

Principal Principal::system(std::string_view what) {
  Principal p;
  p.name = std::string(what);
  p.role = Role::kProviderAdmin;
  p.is_system = true;
  return p;
}

Status Store::audit_in(SqlTx& tx, const Principal& p, std::string_view action,
                       std::string_view object_type, std::string_view object_id,
                       std::string_view customer_id, std::string_view before,
                       std::string_view after, std::string_view outcome) {
  auto r = tx.q(
      "INSERT INTO audit_log (id, at, actor, customer_id, action, object_type, object_id, "
      "before_json, after_json, source_ip, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
      "$10, $11)",
      {sp(random_id("aud")), sp(core::now().micros), sp(p.name), sp_or_null(customer_id),
       sp(action), sp(object_type), sp(object_id), sp_or_null(before), sp_or_null(after),
       sp_or_null(p.source_ip), sp(outcome)});
  if (!r.ok()) return r.error();
  return {};
}

Status Store::audit(const Principal& p, std::string_view action, std::string_view object_type,
                    std::string_view object_id, std::string_view customer_id,
                    std::string_view before, std::string_view after, std::string_view outcome) {
  return transact(true, [&](SqlTx& tx) {
    return audit_in(tx, p, action, object_type, object_id, customer_id, before, after, outcome);
  });
}

Status Store::allow(const Principal& p, std::string_view customer_id, bool write,
                    std::string_view action, std::string_view object_type,
                    std::string_view object_id) {
  bool ok = false;
  if (p.is_system) {
    ok = true;
  } else if (p.is_device) {
    ok = false;
  } else if (is_provider_role(p.role)) {
    // Provider roles see every customer; who may change what is decided per action.
    // The desk role handles desk tickets (desk.*) like the provider's admins and analysts.
    ok = !write || p.role == Role::kProviderAdmin || p.role == Role::kAnalyst ||
         action == "incident.comment" || (p.role == Role::kDesk && action.starts_with("desk."));
  } else {
    // Every customer user may open a desk ticket, answer and reopen their organisation's.
    const bool customer_desk_action =
        action == "desk.open" || action == "desk.reply" || action == "desk.reopen";
    ok = !customer_id.empty() && customer_id == p.customer_id &&
         (!write || p.role == Role::kCustomerAdmin || action == "incident.comment" ||
          action == "incident.confirm" || customer_desk_action);
  }
  if (ok) return {};
  // A customer role's denial is the actor's business: it goes under the actor's customer (the
  // provider sees it there), never under the target's, which would show the target tenant the
  // attacker's e-mail and address.
  const bool customer_actor = !p.is_system && !p.is_device && !is_provider_role(p.role);
  (void)audit(p, action, object_type, object_id, customer_actor ? p.customer_id : customer_id, {},
              {}, "denied");
  // A customer role must not learn that another customer's object exists: 404, not 403.
  if (!is_provider_role(p.role) && customer_id != p.customer_id) {
    return core::make_error_code(404, "{} '{}' not found", object_type, object_id);
  }
  return core::make_error_code(403, "role {} may not {} {} '{}'", role_name(p.role), action,
                               object_type, object_id);
}

Result<std::vector<AuditEntry>> Store::list_audit(const Principal& p, const AuditQuery& in) {
  AuditQuery q = in;
  if (p.is_device) return core::make_error_code(403, "devices cannot read the audit log");
  if (!is_provider_role(p.role)) {
    if (p.role != Role::kCustomerAdmin) {
      return allow(p, p.customer_id, true, "audit.list", "customer", p.customer_id).error();
    }
    if (!q.customer_id.empty() && q.customer_id != p.customer_id) {
      return allow(p, q.customer_id, false, "audit.list", "customer", q.customer_id).error();
    }
    q.customer_id = p.customer_id;
  } else if (p.role != Role::kProviderAdmin && p.role != Role::kAnalyst) {
    return allow(p, q.customer_id, true, "audit.list", "audit", "-").error();
  }
  std::vector<AuditEntry> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT at, actor, COALESCE(customer_id, ''), action, object_type, "
                              "object_id, COALESCE(before_json, ''), COALESCE(after_json, ''), "
                              "COALESCE(source_ip, ''), outcome FROM audit_log WHERE ($1 = '' OR "
                              "customer_id = $1) AND ($2 = '' OR actor = $2) AND ($3 = '' OR "
                              "action = $3) AND ($4 = '' OR outcome = $4) AND at >= CAST($5 AS "
                              "BIGINT) ORDER BY at DESC, id LIMIT {} OFFSET {}",
                              (q.limit <= 0 ? 100 : std::min<int64_t>(q.limit, 1000)),
                              std::max<int64_t>(0, q.offset)),
                  {sp(q.customer_id), sp(q.actor), sp(q.action), sp(q.outcome), sp(q.since)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(AuditEntry{r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3), r->str(i, 4),
                               r->str(i, 5), r->str(i, 6), r->str(i, 7), r->str(i, 8),
                               r->str(i, 9)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace mimamori::server
