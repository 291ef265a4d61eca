// Outbox delivery: one message at a time on the caller's thread (Notifier::deliver_due), or on
// a bounded pool (DeliveryPool) whose dispatcher claims due messages only for destinations with
// room, so that one hanging receiver holds at most `per_destination` workers and never delays
// another's messages. Claimed messages are never lost: a send in flight is finished and
// recorded, a message claimed but not begun goes back to pending.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "mimamori/core/clock.h"
#include "mimamori/core/http_client.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"
#include "notify/notify.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

// Due rows the dispatcher looks at beyond the ones it claims: those of destinations that are
// full are passed over, so that a backlog for one receiver does not hide another's messages.
constexpr int64_t kScanRows = 500;

}  // namespace

std::string url_destination(std::string_view url) {
  auto parts = core::url_parts(url);
  return parts ? core::to_lower(parts->host) + ":" + parts->port : std::string();
}

std::string delivery_destination(const OutboxMessage& m, const NotifyOptions& options) {
  if (m.kind == "email") return "smtp " + url_destination(options.smtp_url);
  if (m.kind == "line") return url_destination(options.line_push_url);
  return url_destination(m.target);
}

Status release_outbox(Store& store, std::string_view id, int64_t now) {
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "UPDATE outbox SET status = 'pending', attempts = CASE WHEN attempts > 0 THEN attempts - "
        "1 ELSE 0 END, next_attempt_at = $2 WHERE id = $1 AND status = 'sending'",
        {sp(id), sp(now)});
    return r.ok() ? Status{} : Status{r.error()};
  });
}

bool Notifier::deliver(Store& store, const OutboxMessage& m) {
  auto st = send(m, core::now().micros);
  if (!st.ok()) spdlog::warn("notification {} ({}): {}", m.id, m.kind, st.error().message);
  const bool permanent = !st.ok() && st.error().code == kUndeliverable;
  if (auto f = finish_outbox(store, m.id, st.ok(), st.ok() ? "" : st.error().message,
                             core::now().micros, permanent);
      !f.ok()) {
    spdlog::warn("outbox: {}", f.error().message);
  }
  return st.ok();
}

int64_t Notifier::deliver_due(Store& store, int64_t now) {
  auto due = claim_outbox(store, now, 20);
  if (!due.ok()) {
    spdlog::warn("outbox: {}", due.error().message);
    return 0;
  }
  int64_t sent = 0;
  for (const auto& m : *due) sent += deliver(store, m);
  return sent;
}

struct DeliveryPool::Impl {
  Store& store;
  NotifyOptions options;
  Notifier notifier;
  int64_t interval_ms;

  std::mutex mu;
  std::condition_variable dispatch_cv, work_cv;
  bool stopping = false, woken = false;
  std::deque<std::pair<OutboxMessage, std::string>> ready;  // claimed, with its destination
  std::unordered_map<std::string, int> load;                // per destination: ready + in flight
  int busy = 0;                                             // workers sending
  std::thread dispatcher;
  std::vector<std::thread> workers;

  Impl(Store& s, NotifyOptions o, int64_t interval)
      : store(s), options(o), notifier(std::move(o)), interval_ms(interval) {}

  int room() const { return options.workers - busy - static_cast<int>(ready.size()); }

  void dispatch_loop() {
    std::unique_lock lock(mu);
    bool more = false;  // the last claim filled the room: more may be due
    while (!stopping) {
      if (const int n = room(); n > 0) {
        // Claim only for destinations with room; the loads are a snapshot, which can only
        // be too high (workers lower them meanwhile), never too low.
        auto snapshot = load;
        lock.unlock();
        auto claimed = claim_outbox(
            store, core::now().micros, n,
            [&](const OutboxMessage& m, const std::vector<OutboxMessage>& taken) {
              const std::string d = delivery_destination(m, options);
              int in_use = snapshot.count(d) ? snapshot.at(d) : 0;
              for (const auto& t : taken) in_use += delivery_destination(t, options) == d;
              return in_use < options.per_destination;
            },
            kScanRows);
        lock.lock();
        if (!claimed.ok()) {
          spdlog::warn("outbox: {}", claimed.error().message);
          more = false;
        } else {
          for (auto& m : *claimed) {
            std::string d = delivery_destination(m, options);
            ++load[d];
            ready.emplace_back(std::move(m), std::move(d));
          }
          more = static_cast<int>(claimed->size()) == n;
          work_cv.notify_all();
        }
      }
      dispatch_cv.wait_for(lock, std::chrono::milliseconds(interval_ms),
                           [&] { return stopping || woken || (more && room() > 0); });
      woken = false;
    }
  }

  void work_loop() {
    std::unique_lock lock(mu);
    while (true) {
      work_cv.wait(lock, [&] { return stopping || !ready.empty(); });
      if (stopping) return;  // what is still ready is released by stop()
      auto [m, d] = std::move(ready.front());
      ready.pop_front();
      ++busy;
      lock.unlock();
      notifier.deliver(store, m);
      lock.lock();
      --busy;
      if (--load[d] <= 0) load.erase(d);
      // A worker and a destination's place are free: more may be claimed at once.
      woken = true;
      dispatch_cv.notify_one();
    }
  }
};

DeliveryPool::DeliveryPool(Store& store, NotifyOptions options, int64_t interval_ms)
    : impl_(std::make_unique<Impl>(store, std::move(options), interval_ms)) {
  Impl* raw = impl_.get();
  raw->options.workers = std::max(1, raw->options.workers);
  raw->options.per_destination = std::max(1, raw->options.per_destination);
  for (int i = 0; i < raw->options.workers; ++i) {
    raw->workers.emplace_back([raw] { raw->work_loop(); });
  }
  raw->dispatcher = std::thread([raw] { raw->dispatch_loop(); });
}

DeliveryPool::~DeliveryPool() { stop(); }

void DeliveryPool::wake() {
  std::lock_guard lock(impl_->mu);
  impl_->woken = true;
  impl_->dispatch_cv.notify_one();
}

void DeliveryPool::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping && !impl_->dispatcher.joinable()) return;
    impl_->stopping = true;
  }
  impl_->dispatch_cv.notify_all();
  impl_->work_cv.notify_all();
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  // Nothing is claimed any more and no worker begins another send: give back what waits.
  std::deque<std::pair<OutboxMessage, std::string>> unsent;
  {
    std::lock_guard lock(impl_->mu);
    unsent.swap(impl_->ready);
  }
  for (const auto& [m, d] : unsent) {
    if (auto st = release_outbox(impl_->store, m.id, core::now().micros); !st.ok()) {
      spdlog::warn("outbox: {} not given back: {}", m.id, st.error().message);
    }
  }
  for (auto& w : impl_->workers) {
    if (w.joinable()) w.join();
  }
}

}  // namespace mimamori::server
