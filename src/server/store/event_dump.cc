// Store::dump_events: stored raw events of a customer, a device and a time range, read back
// through the store's reader of stored events (store/sql.h: stored_event_seqs, read_events),
// never through the form they are kept in, so that a change of that form changes nothing here.

#include <boost/json.hpp>

#include "mimamori/core/clock.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

namespace json = boost::json;

Status Store::dump_events(const EventDumpQuery& q,
                          const std::function<void(const StoredEvent&)>& emit) {
  std::vector<std::string> devices;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id FROM devices WHERE ($1 = '' OR customer_id = $1) AND ($2 = '' OR id = $2) "
        "ORDER BY id",
        {sp(q.customer_id), sp(q.device_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) devices.push_back(r->str(i, 0));
    return {};
  });
  if (!st.ok()) return st;
  if (!q.device_id.empty() && devices.empty()) {
    return core::make_error_code(404, "device '{}' not found{}", q.device_id,
                                 q.customer_id.empty() ? "" : " for customer " + q.customer_id);
  }
  // A chunk of keys per read transaction: a long dump does not hold one open for its length.
  constexpr size_t kChunk = 2000;
  for (const auto& device : devices) {
    std::vector<int64_t> seqs;
    st = transact(false, [&](SqlTx& tx) -> Status {
      auto r = stored_event_seqs(tx, device);
      if (!r.ok()) return r.error();
      seqs = std::move(*r);
      return {};
    });
    if (!st.ok()) return st;
    for (size_t begin = 0; begin < seqs.size(); begin += kChunk) {
      std::vector<EventKey> keys;
      for (size_t i = begin; i < std::min(seqs.size(), begin + kChunk); ++i) {
        keys.push_back(EventKey{device, seqs[i]});
      }
      std::vector<std::pair<EventKey, std::string>> got;
      st = transact(false, [&](SqlTx& tx) -> Status {
        auto r = read_events(tx, keys);
        if (!r.ok()) return r.error();
        got = std::move(*r);
        return {};
      });
      if (!st.ok()) return st;
      for (auto& [key, record] : got) {
        StoredEvent e{key.device_id, key.seq, {}, std::move(record)};
        boost::system::error_code ec;
        const json::value v = json::parse(e.record, ec);
        const json::object* o = ec ? nullptr : v.if_object();
        if (o != nullptr) {
          if (const auto* t = o->if_contains("event_type"); t && t->is_string()) {
            e.event_type = std::string(t->get_string());
          }
        }
        if (q.since != 0 || q.until != 0) {
          // Stored events passed ingest's check of their timestamp; one without a readable
          // time is outside any range.
          const json::value* t = o ? o->if_contains("timestamp") : nullptr;
          auto at = t && t->is_string() ? core::parse_time(std::string(t->get_string()))
                                        : Result<core::Timestamp>(core::make_error("no time"));
          if (!at.ok()) continue;
          if (q.since != 0 && at->micros < q.since) continue;
          if (q.until != 0 && at->micros >= q.until) continue;
        }
        emit(e);
      }
    }
  }
  return {};
}

}  // namespace mimamori::server
