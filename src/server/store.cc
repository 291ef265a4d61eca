// Store: opening, the ingest writer (group commit), access checks and the audit log.

#include "mimamori/server/store.h"

#include <algorithm>
#include <charconv>

#include "backends.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "secrets.h"
#include "sql.h"

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

Store::Store(StoreOptions options) : options_(std::move(options)) {}
Store::~Store() { stop_writers(); }

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  std::string_view url = options.url;
  Result<std::unique_ptr<Store>> store = core::make_error("no store");
  if (url.starts_with("sqlite:")) {
    store = open_sqlite_store(options, url.substr(7));
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    store = open_postgres_store(options, url);
  } else {
    return core::make_error("store url '{}' is not understood: use sqlite:DIR or postgresql://…",
                            url);
  }
  if (!store.ok()) return store;
  if (auto st = (*store)->DoMigrate(); !st.ok()) {
    return core::make_error("migrating the schema failed: {}", st.error().message);
  }
  // SQLite has one writer at a time anyway; on PostgreSQL several overlap their round trips.
  (*store)->start_writers(
      (*store)->DoDialect() == Dialect::kSqlite ? 1 : std::clamp(options.ingest_writers, 1, 16));
  return store;
}

std::string_view Store::backend_name() const {
  return DoDialect() == Dialect::kSqlite ? "sqlite" : "postgresql";
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

// --- ingest writer ----------------------------------------------------------------------

void Store::start_writers(int count) {
  for (int i = 0; i < count; ++i) writers_.emplace_back([this] { writer_loop(); });
}

void Store::stop_writers() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& t : writers_) t.join();
  writers_.clear();
}

void Store::ingest(IngestBatch batch, std::function<void(Result<IngestOutcome>)> done) {
  auto n = static_cast<int64_t>(batch.events.size() + batch.rejected.size());
  std::unique_lock lock(queue_mu_);
  if (stopping_) {
    lock.unlock();
    done(core::make_error_code(503, "the server is shutting down"));
    return;
  }
  // Bounded: past the limit the device is told to come back (429) instead of growing memory.
  // A batch larger than the whole queue is still admitted when the queue is empty.
  if (queued_events_ > 0 && queued_events_ + n > options_.ingest_queue_events) {
    lock.unlock();
    stats_.throttled.fetch_add(1, std::memory_order_relaxed);
    done(core::make_error_code(429, "ingest queue is full ({} events waiting)", queued_events_));
    return;
  }
  queued_events_ += n;
  stats_.queue_events.store(queued_events_, std::memory_order_relaxed);
  queue_.push_back(Pending{std::move(batch), std::move(done)});
  lock.unlock();
  queue_cv_.notify_one();
}

void Store::writer_loop() {
  std::vector<Pending> group;
  std::vector<IngestOutcome> outcomes;
  std::vector<bool> inserted;
  while (true) {
    group.clear();
    int64_t events = 0;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && (group.empty() || events < options_.ingest_group_events)) {
        events += static_cast<int64_t>(queue_.front().batch.events.size() +
                                       queue_.front().batch.rejected.size());
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    outcomes.assign(group.size(), IngestOutcome{});
    const int64_t now = core::now().micros;
    // A deadlock or serialization failure with another writer (or another instance) rolls
    // the whole group back; applying it again is idempotent, so try a few times.
    Status st;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_lock triage_lock(triage_mu_, std::defer_lock);
      st = transact(true, [&](SqlTx& tx) -> Status {
        if (auto s = insert_group(tx, group, inserted, now, attempt > 0); !s.ok()) return s;
        triage_lock.lock();  // released after the commit, below
        size_t offset = 0;
        for (size_t i = 0; i < group.size(); ++i) {
          outcomes[i] = IngestOutcome{};
          const auto& b = group[i].batch;
          count_batch(b, inserted, offset, outcomes[i]);
          offset += b.events.size() + b.rejected.size();
        }
        if (auto s = triage_group(tx, group, inserted, now); !s.ok()) return s;
        return {};
      });
      if (triage_lock.owns_lock()) triage_lock.unlock();
      if (st.ok()) break;
      spdlog::warn("ingest commit attempt {} failed: {}", attempt + 1, st.error().message);
    }
    {
      std::lock_guard lock(queue_mu_);
      queued_events_ -= events;
      stats_.queue_events.store(queued_events_, std::memory_order_relaxed);
    }
    if (st.ok()) stats_.commits.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < group.size(); ++i) {
      if (st.ok()) {
        stats_.batches.fetch_add(1, std::memory_order_relaxed);
        stats_.events_accepted.fetch_add(outcomes[i].accepted, std::memory_order_relaxed);
        stats_.events_duplicate.fetch_add(outcomes[i].duplicates, std::memory_order_relaxed);
        stats_.events_rejected.fetch_add(static_cast<int64_t>(outcomes[i].rejected.size()),
                                         std::memory_order_relaxed);
        group[i].done(std::move(outcomes[i]));
      } else {
        spdlog::error("ingest commit failed: {}", st.error().message);
        group[i].done(
            core::make_error_code(503, "storing the batch failed: {}", st.error().message));
      }
    }
    // The callbacks hold the HTTP sessions: let go of them now, not when the next group comes.
    // A session kept here would outlive a stopping HTTP server and be destroyed after it.
    group.clear();
  }
}

Status Store::insert_group(SqlTx& tx, const std::vector<Pending>& group,
                           std::vector<bool>& inserted, int64_t now, bool contended) {
  // Rejected lines are kept too (as event_type "rejected" with the reason), so that a replayed
  // batch is recognised as a whole and the evidence of what a device sent is never lost.
  std::vector<EventRow> rows;
  std::vector<std::string> rejected_raw;
  size_t n = 0, n_rejected = 0;
  for (const auto& p : group) {
    n += p.batch.events.size() + p.batch.rejected.size();
    n_rejected += p.batch.rejected.size();
  }
  rows.reserve(n);
  rejected_raw.reserve(n_rejected);  // no reallocation: rows keep views into these strings
  for (const auto& p : group) {
    const IngestBatch& b = p.batch;
    for (const auto& e : b.events) {
      rows.push_back(EventRow{b.device_id, e.seq, b.customer_id, e.ts, e.event_type, e.raw, now});
    }
    for (const auto& r : b.rejected) {
      std::string& j = rejected_raw.emplace_back("{\"reason\":");
      core::append_json_string(j, r.reason);
      j += ",\"line\":";
      core::append_json_string(j, r.raw);
      j += '}';
      rows.push_back(EventRow{b.device_id, r.seq, b.customer_id, now, "rejected", j, now});
    }
  }
  return tx.insert_events(rows, inserted, contended);
}

void Store::count_batch(const IngestBatch& b, const std::vector<bool>& inserted, size_t offset,
                        IngestOutcome& out) {
  for (size_t i = 0; i < b.events.size(); ++i) {
    if (inserted[offset + i]) {
      ++out.accepted;
    } else {
      ++out.duplicates;
    }
  }
  offset += b.events.size();
  for (size_t i = 0; i < b.rejected.size(); ++i) {
    if (inserted[offset + i]) {
      out.rejected.push_back(RejectedEvent{b.rejected[i].seq, b.rejected[i].reason, {}});
    } else {
      ++out.duplicates;
    }
  }
  out.acked_through = b.last;
}

Result<int64_t> Store::count_events(std::string_view device_id) {
  int64_t n = 0;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT COUNT(*) FROM events WHERE device_id = $1", {sp(device_id)});
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
    auto r = tx.q("SELECT seq FROM events WHERE device_id = $1 ORDER BY seq", {sp(device_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(r->i64(i, 0));
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
    ok = !write || p.role == Role::kProviderAdmin || p.role == Role::kAnalyst ||
         action == "incident.comment";
  } else {
    ok = !customer_id.empty() && customer_id == p.customer_id &&
         (!write || p.role == Role::kCustomerAdmin || action == "incident.comment");
  }
  if (ok) return {};
  (void)audit(p, action, object_type, object_id, customer_id, {}, {}, "denied");
  // A customer role must not learn that another customer's object exists: 404, not 403.
  if (!is_provider_role(p.role) && customer_id != p.customer_id) {
    return core::make_error_code(404, "{} '{}' not found", object_type, object_id);
  }
  return core::make_error_code(403, "role {} may not {} {} '{}'", role_name(p.role), action,
                               object_type, object_id);
}

}  // namespace mimamori::server
