// Event-log alerts to the spool, bookmarks released by the server's acknowledgement.

#include "mimamori/host/event_log_delivery.h"

#include <charconv>

#include "mimamori/core/eve.h"
#include "mimamori/core/event.h"
#include "mimamori/core/fields.h"

namespace mimamori::host {

namespace {

uint64_t to_u64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The numbers of "12 9120003 9120007".
std::vector<uint64_t> numbers(std::string_view s) {
  std::vector<uint64_t> out;
  while (!s.empty()) {
    auto sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    if (!w.empty()) out.push_back(to_u64(w));
    s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  }
  return out;
}

}  // namespace

EventLogDelivery::EventLogDelivery(Append append, std::string_view bookmarks, std::string_view held)
    : append_(std::move(append)) {
  for (auto& [name, mark] : decode_bookmarks(bookmarks)) {
    Source& s = sources_[name];
    s.resume = mark;
    s.latest = mark;
  }
  for (const auto& [name, text] : decode_bookmarks(held)) {
    auto n = numbers(text);
    if (n.empty() || n[0] == 0) continue;
    Source& s = sources_[name];
    s.acked_record = n[0];
    s.acked_sids.insert(n.begin() + 1, n.end());
  }
}

void EventLogDelivery::spooled(uint64_t seq, std::string_view payload) {
  if (payload.find("\"winlog\"") == std::string_view::npos) return;
  core::Fields f;
  if (!core::parse_json_object(payload, f).ok()) return;
  std::string_view source = f.find_string("winlog.source");
  auto rid = f.find("winlog.record_id");
  auto sid = f.find("alert.signature_id");
  if (source.empty() || !rid || !rid->as_int() || !sid || !sid->as_int()) return;
  std::lock_guard lock(mu_);
  in_spool_[Key(std::string(source), static_cast<uint64_t>(*rid->as_int()),
                static_cast<uint64_t>(*sid->as_int()))]
      .push_back(seq);
}

EventLogBookmarks EventLogDelivery::resume() const {
  std::lock_guard lock(mu_);
  EventLogBookmarks out;
  for (const auto& [name, s] : sources_)
    if (!s.resume.empty()) out[name] = s.resume;
  return out;
}

bool EventLogDelivery::deliver(const core::Event& e, std::string_view line) {
  std::string_view source = e.fields.find_string("winlog.source");
  auto rid = e.fields.find("winlog.record_id");
  if (source.empty() || !rid || !rid->as_int()) {
    append_(line);
    return true;
  }
  uint64_t record = static_cast<uint64_t>(*rid->as_int());
  uint64_t sid = e.alert ? e.alert->signature_id : 0;
  std::lock_guard lock(mu_);
  auto it = sources_.find(source);
  if (it == sources_.end()) it = sources_.emplace(std::string(source), Source{}).first;
  Source& s = it->second;
  // Where this record's alerts are held (records come in order: it is the last hold, if any).
  auto hold = [&]() -> Hold& {
    if (s.holds.empty() || s.holds.back().record_id != record) s.holds.push_back({record, {}});
    return s.holds.back();
  };
  // Re-read after a restart: the server has it already.
  if (record == s.acked_record) {
    if (auto a = s.acked_sids.find(sid); a != s.acked_sids.end()) {
      s.acked_sids.erase(a);
      ++skipped_;
      hold().alerts.emplace_back(sid, 0);  // kept in the next checkpoint's `held`
      return false;
    }
  }
  // Re-read after a restart: still in the spool, on its way.
  if (auto k = in_spool_.empty() ? in_spool_.end() : in_spool_.find(Key(source, record, sid));
      k != in_spool_.end()) {
    uint64_t seq = k->second.back();
    k->second.pop_back();
    if (k->second.empty()) in_spool_.erase(k);
    ++skipped_;
    hold().alerts.emplace_back(sid, seq);
    return false;
  }
  uint64_t seq = append_(line);
  hold().alerts.emplace_back(sid, seq);
  return true;
}

void EventLogDelivery::emit(const core::Event& e) {
  std::string line;
  core::append_eve(e, line);
  deliver(e, line);
}

void EventLogDelivery::checkpoint(std::string_view source, std::string_view position) {
  if (source != EventLogAlerts::kCheckpoint) return;
  std::lock_guard lock(mu_);
  for (auto& [name, mark] : decode_bookmarks(position)) {
    auto it = sources_.find(name);
    if (it == sources_.end()) it = sources_.emplace(name, Source{}).first;
    it->second.latest = mark;
  }
}

std::string EventLogDelivery::position(std::string_view source) {
  if (source != EventLogAlerts::kCheckpoint) return {};
  return encode_bookmarks(resume());
}

void EventLogDelivery::acked(uint64_t seq) {
  std::lock_guard lock(mu_);
  if (seq > acked_) acked_ = seq;
  release_locked();
}

// Drops the holds whose alerts are all acknowledged.
void EventLogDelivery::release_locked() {
  for (auto& [name, s] : sources_) {
    while (!s.holds.empty()) {
      bool done = true;
      for (const auto& [sid, q] : s.holds.front().alerts) done = done && q <= acked_;
      if (!done) break;
      s.holds.pop_front();
    }
  }
}

std::map<std::string, std::string> EventLogDelivery::checkpoints() {
  std::lock_guard lock(mu_);
  release_locked();
  EventLogBookmarks marks, held;
  for (auto& [name, s] : sources_) {
    if (s.holds.empty()) {
      if (!s.latest.empty()) s.resume = s.latest;
    } else {
      // Just before the first held record, in Windows' own bookmark shape (EvtCreateBookmark
      // takes it; the replay source reads its RecordId).
      const Hold& h = s.holds.front();
      s.resume = make_bookmark(name, h.record_id - 1);
      std::string acked = std::to_string(h.record_id);
      for (const auto& [sid, q] : h.alerts)
        if (q <= acked_) {
          acked.push_back(' ');
          acked.append(std::to_string(sid));
        }
      held[name] = std::move(acked);
    }
    if (!s.resume.empty()) marks[name] = s.resume;
  }
  return {{std::string(EventLogAlerts::kCheckpoint), encode_bookmarks(marks)},
          {std::string(kHeldCheckpoint), encode_bookmarks(held)}};
}

uint64_t EventLogDelivery::skipped() const {
  std::lock_guard lock(mu_);
  return skipped_;
}

std::size_t EventLogDelivery::held_records() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [name, s] : sources_) n += s.holds.size();
  return n;
}

}  // namespace mimamori::host
