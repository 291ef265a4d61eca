// The claim package: the incident's story from detection to recovery (its alerts, the
// notifications sent, the SOC's timeline, linked desk tickets, dispatch steps), the evidence
// with SHA-256 hashes, and the coverage arithmetic of the claim.

#include <algorithm>
#include <tuple>

#include "insurance/insurance.h"
#include "insurance/internal.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/hash.h"

namespace mimamori::server {
namespace {

// The stage of an incident timeline entry by its kind.
std::string stage_of(std::string_view kind) {
  if (kind == "claim") return "claim";
  if (kind == "close") return "recovery";
  if (kind == "escalated") return "notification";
  if (kind == "opened" || kind == "alert_added" || kind == "alert") return "detection";
  return "remote";
}

std::string_view notify_kind_ja(std::string_view kind) {
  if (kind == "email") return "メール";
  if (kind == "webhook") return "Webhook";
  if (kind == "slack") return "Slack";
  return kind;
}

std::string_view outbox_status_ja(std::string_view s) {
  if (s == "sent") return "送信済み";
  if (s == "pending") return "送信待ち";
  if (s == "failed") return "送信失敗";
  return s;
}

}  // namespace

Result<ClaimPackage> gather_claim_package(Store& store, const Principal& p,
                                          std::string_view incident_id, std::string_view claim_id) {
  auto claim = get_claim(store, p, incident_id, claim_id);
  if (!claim.ok()) return claim.error();
  auto policy = claim_policy(store, p, *claim);
  if (!policy.ok()) return policy.error();
  ClaimPackage pkg;
  pkg.claim = std::move(*claim);
  pkg.policy = std::move(*policy);
  pkg.generated_at = core::now().micros;
  const std::string& cus = pkg.claim.customer_id;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT name FROM customers WHERE id = $1", {sp(cus)});
    if (!c.ok()) return c.error();
    if (!c->empty()) pkg.customer_name = c->str(0, 0);
    auto inc = tx.q(
        "SELECT title, severity, status, created_at FROM incidents WHERE id = $1 AND "
        "customer_id = $2",
        {sp(incident_id), sp(cus)});
    if (!inc.ok()) return inc.error();
    if (inc->empty()) return core::make_error_code(404, "incident '{}' not found", incident_id);
    pkg.incident_title = inc->str(0, 0);
    pkg.incident_severity = inc->str(0, 1);
    pkg.incident_status = inc->str(0, 2);
    pkg.incident_created_at = inc->i64(0, 3);
    auto& tl = pkg.timeline;
    // Detection: the alerts grouped into the incident.
    auto al = tx.q(
        "SELECT signature, first_seen, count, device_id FROM alerts WHERE incident_id = $1 AND "
        "customer_id = $2 ORDER BY first_seen, id LIMIT 200",
        {sp(incident_id), sp(cus)});
    if (!al.ok()) return al.error();
    for (size_t i = 0; i < al->size(); ++i) {
      tl.push_back({al->i64(i, 1), al->str(i, 3), "detection",
                    fmt::format("検知: {}（{}件）", al->str(i, 0), al->i64(i, 2))});
    }
    // Notification: what the outbox sent about this incident (its keys start with its id).
    const std::string prefix = std::string(incident_id) + ":";
    auto ob = tx.q(
        "SELECT kind, subject, status, created_at, sent_at FROM outbox WHERE "
        "substr(idempotency_key, 1, $2) = $1 ORDER BY created_at, id LIMIT 200",
        {sp(prefix), sp(static_cast<int64_t>(prefix.size()))});
    if (!ob.ok()) return ob.error();
    for (size_t i = 0; i < ob->size(); ++i) {
      const int64_t at = ob->i64(i, 4) > 0 ? ob->i64(i, 4) : ob->i64(i, 3);
      tl.push_back({at, "system", "notification",
                    fmt::format("{}で通知（{}）: {}", notify_kind_ja(ob->str(i, 0)),
                                outbox_status_ja(ob->str(i, 2)), ob->str(i, 1))});
    }
    // The SOC's own timeline: handling, customer confirmations, close, claim status.
    auto it = tx.q(
        "SELECT at, actor, kind, text FROM incident_timeline WHERE incident_id = $1 AND "
        "customer_id = $2 ORDER BY at, id",
        {sp(incident_id), sp(cus)});
    if (!it.ok()) return it.error();
    for (size_t i = 0; i < it->size(); ++i) {
      // Dispatch steps come from the dispatch domain below, in the claim's words: not twice.
      if (it->str(i, 2) == "dispatch") continue;
      tl.push_back({it->i64(i, 0), it->str(i, 1), stage_of(it->str(i, 2)), it->str(i, 3)});
    }
    // Desk tickets linked to the claim, and their files as evidence.
    for (const auto& t : pkg.claim.ticket_ids) {
      auto tk = tx.q(
          "SELECT subject, created_at, first_response_at, resolved_at FROM desk_tickets WHERE id "
          "= $1 AND customer_id = $2",
          {sp(t), sp(cus)});
      if (!tk.ok()) return tk.error();
      if (tk->empty()) continue;
      tl.push_back(
          {tk->i64(0, 1), "desk", "remote", fmt::format("相談窓口で受付: {}", tk->str(0, 0))});
      if (tk->i64(0, 2) > 0) {
        tl.push_back(
            {tk->i64(0, 2), "desk", "remote", fmt::format("相談窓口から回答: {}", tk->str(0, 0))});
      }
      if (tk->i64(0, 3) > 0) {
        tl.push_back(
            {tk->i64(0, 3), "desk", "recovery", fmt::format("相談窓口で解決: {}", tk->str(0, 0))});
      }
      auto files = tx.q(
          "SELECT filename, sha256, size, created_at FROM desk_attachments WHERE ticket_id = $1 "
          "AND customer_id = $2 ORDER BY created_at, id",
          {sp(t), sp(cus)});
      if (!files.ok()) return files.error();
      for (size_t i = 0; i < files->size(); ++i) {
        pkg.evidence.push_back(
            {"attachment", files->str(i, 0), files->str(i, 1), files->i64(i, 3), files->i64(i, 2)});
      }
    }
    // Dispatch: on-site steps, from the dispatch domain.
    auto dispatched = dispatch_entries(tx, cus, incident_id);
    if (!dispatched.ok()) return dispatched.error();
    for (auto& e : *dispatched) tl.push_back(std::move(e));
    // Evidence: the raw events behind the incident's alerts, hashed as stored (read from the
    // compressed blocks or the older uncompressed rows: the same bytes either way).
    auto ev = tx.q(
        "SELECT DISTINCT ae.device_id, ae.seq FROM alerts a JOIN alert_events ae ON ae.alert_id "
        "= a.id WHERE a.incident_id = $1 AND a.customer_id = $2 AND ae.customer_id = $2 ORDER BY "
        "ae.device_id, ae.seq LIMIT 500",
        {sp(incident_id), sp(cus)});
    if (!ev.ok()) return ev.error();
    std::vector<EventKey> keys;
    for (size_t i = 0; i < ev->size(); ++i) keys.push_back({ev->str(i, 0), ev->i64(i, 1)});
    auto raw = read_events(tx, keys);
    if (!raw.ok()) return raw.error();
    std::vector<Evidence> events;
    for (const auto& [key, line] : *raw) {
      core::Fields f;
      std::string type;
      int64_t at = 0;
      if (core::parse_json_object(line, f).ok()) {
        if (auto t = f.find("event_type")) type = std::string(t->str);
        if (auto ts = f.find("timestamp"))
          if (auto parsed = core::parse_time(ts->str); parsed.ok()) at = parsed->micros;
      }
      events.push_back({"event", fmt::format("{} #{} {}", key.device_id, key.seq, type),
                        core::sha256_hex(line), at, static_cast<int64_t>(line.size())});
    }
    // By time, then by device and number (the name): the same order on every backend.
    std::sort(events.begin(), events.end(), [](const Evidence& a, const Evidence& b) {
      return std::tie(a.at, a.name) < std::tie(b.at, b.name);
    });
    pkg.evidence.insert(pkg.evidence.begin(), events.begin(), events.end());
    return {};
  });
  if (!st.ok()) return st.error();
  std::stable_sort(pkg.timeline.begin(), pkg.timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  pkg.amounts = compute_claim(pkg.policy, pkg.claim.lines);
  return pkg;
}

}  // namespace mimamori::server
