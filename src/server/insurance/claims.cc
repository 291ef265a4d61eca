// Claims raised from an incident: their cost lines and their status, each change audited and
// the status on the incident's timeline.

#include <algorithm>
#include <boost/json.hpp>

#include "insurance/insurance.h"
#include "insurance/internal.h"
#include "mimamori/core/clock.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxYen = 1000000000000;

constexpr std::string_view kClaimColumns =
    "id, incident_id, customer_id, contract_id, policy_id, status, note, ticket_ids, created_by, "
    "created_at, updated_at, submitted_at, decided_at";

std::string ids_json(const std::vector<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.push_back(json::string(id));
  return json::serialize(a);
}

std::vector<std::string> ids_from_json(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (x.is_string()) out.emplace_back(x.as_string());
  }
  return out;
}

Claim claim_from_row(const SqlRows& r, size_t i) {
  Claim c;
  c.id = r.str(i, 0);
  c.incident_id = r.str(i, 1);
  c.customer_id = r.str(i, 2);
  c.contract_id = r.str(i, 3);
  c.policy_id = r.str(i, 4);
  c.status = r.str(i, 5);
  c.note = r.str(i, 6);
  c.ticket_ids = ids_from_json(r.str(i, 7));
  c.created_by = r.str(i, 8);
  c.created_at = r.i64(i, 9);
  c.updated_at = r.i64(i, 10);
  c.submitted_at = r.i64(i, 11);
  c.decided_at = r.i64(i, 12);
  return c;
}

Status load_lines(SqlTx& tx, Claim& c) {
  auto r = tx.q(
      "SELECT id, description, item, incurred_on, amount, created_by, created_at FROM "
      "insurance_claim_lines WHERE claim_id = $1 AND customer_id = $2 ORDER BY created_at, id",
      {sp(c.id), sp(c.customer_id)});
  if (!r.ok()) return r.error();
  c.lines.clear();
  for (size_t i = 0; i < r->size(); ++i) {
    c.lines.push_back(CostLine{r->str(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3), r->i64(i, 4),
                               r->str(i, 5), r->i64(i, 6)});
  }
  return {};
}

Result<Claim> read_claim(SqlTx& tx, std::string_view incident_id, std::string_view claim_id,
                         std::string_view customer_id) {
  auto r = tx.q(fmt::format("SELECT {} FROM insurance_claims WHERE id = $1 AND incident_id = $2 "
                            "AND customer_id = $3",
                            kClaimColumns),
                {sp(claim_id), sp(incident_id), sp(customer_id)});
  if (!r.ok()) return r.error();
  if (r->empty()) {
    return core::make_error_code(404, "claim '{}' of incident '{}' not found", claim_id,
                                 incident_id);
  }
  Claim c = claim_from_row(*r, 0);
  if (auto st = load_lines(tx, c); !st.ok()) return st.error();
  return c;
}

std::string claim_state_json(const Claim& c) {
  return json::serialize(json::object{
      {"status", c.status}, {"lines", static_cast<int64_t>(c.lines.size())}, {"note", c.note}});
}

Status add_timeline(SqlTx& tx, const Principal& p, const Claim& c, int64_t now,
                    const std::string& text) {
  auto r = tx.q(
      "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
      "VALUES ($1, $2, $3, $4, $5, 'claim', $6)",
      {sp(random_id("tl")), sp(c.incident_id), sp(c.customer_id), sp(now), sp(p.name), sp(text)});
  if (!r.ok()) return r.error();
  return {};
}

}  // namespace

/// The customer of an incident after the access check: reading for every role that may see
/// the incident; changing for provider_admin and analyst only (403 for others, 404 for another
/// tenant's incident).
Result<std::string> incident_customer(Store& store, const Principal& p,
                                      std::string_view incident_id, bool write,
                                      std::string_view action) {
  std::string customer;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT customer_id FROM incidents WHERE id = $1", {sp(incident_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) customer = r->str(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto a = store.allow(p, customer, false, action, "incident", incident_id); !a.ok()) {
    return a.error();
  }
  if (customer.empty()) return core::make_error_code(404, "incident '{}' not found", incident_id);
  if (write && !p.is_system) {
    const bool handler =
        !p.is_device && (p.role == Role::kProviderAdmin || p.role == Role::kAnalyst);
    if (!handler) {
      (void)store.audit(p, action, "incident", incident_id,
                        is_provider_role(p.role) ? customer : p.customer_id, {}, {}, "denied");
      return core::make_error_code(403,
                                   "role {} may not {}: insurance claims are made by the "
                                   "provider (provider_admin, analyst)",
                                   p.is_device ? "device" : role_name(p.role), action);
    }
  }
  return customer;
}

Result<Claim> create_claim(Store& store, const Principal& p, std::string_view incident_id,
                           std::string_view policy_id, const std::vector<std::string>& ticket_ids) {
  auto customer = incident_customer(store, p, incident_id, true, "insurance.claim.create");
  if (!customer.ok()) return customer.error();
  if (ticket_ids.size() > 50) {
    return core::make_error_code(400, "member 'ticket_ids': at most 50 tickets, got {}",
                                 ticket_ids.size());
  }
  Claim c;
  c.id = random_id("clm");
  c.incident_id = std::string(incident_id);
  c.customer_id = *customer;
  c.status = "draft";
  c.ticket_ids = ticket_ids;
  c.created_by = p.name;
  const int64_t now = core::now().micros;
  c.created_at = c.updated_at = now;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto inc = tx.q("SELECT created_at FROM incidents WHERE id = $1 AND customer_id = $2",
                    {sp(incident_id), sp(c.customer_id)});
    if (!inc.ok()) return inc.error();
    if (inc->empty()) return core::make_error_code(404, "incident '{}' not found", incident_id);
    const std::string day = core::format_local(core::Timestamp{inc->i64(0, 0)}).substr(0, 10);
    auto pol = tx.q(fmt::format("SELECT {} FROM insurance_policies WHERE customer_id = $1 ORDER "
                                "BY updated_at DESC, id",
                                kPolicyColumnList),
                    {sp(c.customer_id)});
    if (!pol.ok()) return pol.error();
    if (pol->empty()) {
      return core::make_error_code(
          409,
          "the customer of incident '{}' has no insurance policy: set one on its contract "
          "first (PUT /api/v1/contracts/{{id}}/policy)",
          incident_id);
    }
    std::optional<InsurancePolicy> chosen;
    for (size_t i = 0; i < pol->size(); ++i) {
      InsurancePolicy x = policy_from_row(*pol, i);
      if (!policy_id.empty()) {
        if (x.id == policy_id) chosen = x;
      } else if (!chosen && x.start_date <= day && day <= x.end_date) {
        chosen = x;
      }
    }
    if (!policy_id.empty() && !chosen) {
      return core::make_error_code(400, "member 'policy_id': '{}' is no policy of this customer",
                                   policy_id);
    }
    if (!chosen) chosen = policy_from_row(*pol, 0);
    c.policy_id = chosen->id;
    c.contract_id = chosen->contract_id;
    for (const auto& t : ticket_ids) {
      auto r = tx.q("SELECT id FROM desk_tickets WHERE id = $1 AND customer_id = $2",
                    {sp(t), sp(c.customer_id)});
      if (!r.ok()) return r.error();
      // Another customer's ticket is as unknown as a missing one.
      if (r->empty()) {
        return core::make_error_code(400,
                                     "member 'ticket_ids': ticket '{}' is not this "
                                     "customer's",
                                     t);
      }
    }
    auto r = tx.q(
        "INSERT INTO insurance_claims (id, incident_id, customer_id, contract_id, policy_id, "
        "status, note, ticket_ids, created_by, created_at, updated_at, submitted_at, decided_at) "
        "VALUES ($1, $2, $3, $4, $5, 'draft', '', $6, $7, $8, $8, 0, 0)",
        {sp(c.id), sp(incident_id), sp(c.customer_id), sp(c.contract_id), sp(c.policy_id),
         sp(ids_json(c.ticket_ids)), sp(c.created_by), sp(now)});
    if (!r.ok()) return r.error();
    if (auto t = add_timeline(tx, p, c, now,
                              fmt::format("保険請求を作成しました（{} 証券番号 {}）",
                                          chosen->insurer, chosen->policy_number));
        !t.ok()) {
      return t;
    }
    return store.audit_in(tx, p, "insurance.claim.create", "insurance_claim", c.id, c.customer_id,
                          {}, claim_state_json(c), "ok");
  });
  if (!st.ok()) return st.error();
  return c;
}

Result<std::vector<Claim>> list_claims(Store& store, const Principal& p,
                                       std::string_view incident_id) {
  auto customer = incident_customer(store, p, incident_id, false, "insurance.claim.list");
  if (!customer.ok()) return customer.error();
  std::vector<Claim> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM insurance_claims WHERE incident_id = $1 AND "
                              "customer_id = $2 ORDER BY created_at DESC, id",
                              kClaimColumns),
                  {sp(incident_id), sp(*customer)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(claim_from_row(*r, i));
      if (auto l = load_lines(tx, out.back()); !l.ok()) return l;
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Claim> get_claim(Store& store, const Principal& p, std::string_view incident_id,
                        std::string_view claim_id) {
  auto customer = incident_customer(store, p, incident_id, false, "insurance.claim.read");
  if (!customer.ok()) return customer.error();
  std::optional<Claim> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = read_claim(tx, incident_id, claim_id, *customer);
    if (!c.ok()) return c.error();
    out = std::move(*c);
    return {};
  });
  if (!st.ok()) return st.error();
  return *out;
}

Result<Claim> add_cost_line(Store& store, const Principal& p, std::string_view incident_id,
                            std::string_view claim_id, CostLine line) {
  auto customer = incident_customer(store, p, incident_id, true, "insurance.claim.line");
  if (!customer.ok()) return customer.error();
  if (line.description.empty() || line.description.size() > 1000) {
    return core::make_error_code(400,
                                 "member 'description' is required (1..1000 bytes): what the "
                                 "cost was for");
  }
  if (coverage_item_name(line.item).empty()) {
    std::string known;
    for (const auto& k : kCoverageItems) known += (known.empty() ? "" : ", ") + std::string(k.key);
    return core::make_error_code(400, "member 'item': '{}' is unknown ({})", line.item, known);
  }
  if (line.amount <= 0 || line.amount > kMaxYen) {
    return core::make_error_code(400,
                                 "member 'amount' must be a whole number of yen in 1..{}, got {}",
                                 kMaxYen, line.amount);
  }
  if (!valid_ymd(line.incurred_on)) {
    return core::make_error_code(400, "member 'incurred_on' must be a date YYYY-MM-DD, got '{}'",
                                 line.incurred_on);
  }
  const int64_t now = core::now().micros;
  line.id = random_id("cln");
  line.created_by = p.name;
  line.created_at = now;
  std::optional<Claim> out;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = read_claim(tx, incident_id, claim_id, *customer);
    if (!c.ok()) return c.error();
    if (c->status != "draft") {
      return core::make_error_code(409, "claim '{}' is {}: cost lines are added to a draft only",
                                   claim_id, c->status);
    }
    if (c->lines.size() >= 500) {
      return core::make_error_code(409, "claim '{}' has 500 cost lines, the most it takes",
                                   claim_id);
    }
    const std::string before = claim_state_json(*c);
    auto r = tx.q(
        "INSERT INTO insurance_claim_lines (id, claim_id, customer_id, description, item, "
        "incurred_on, amount, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {sp(line.id), sp(claim_id), sp(*customer), sp(line.description), sp(line.item),
         sp(line.incurred_on), sp(line.amount), sp(line.created_by), sp(now)});
    if (!r.ok()) return r.error();
    r = tx.q("UPDATE insurance_claims SET updated_at = $2 WHERE id = $1", {sp(claim_id), sp(now)});
    if (!r.ok()) return r.error();
    c->lines.push_back(line);
    c->updated_at = now;
    out = std::move(*c);
    return store.audit_in(tx, p, "insurance.claim.line", "insurance_claim", claim_id, *customer,
                          before,
                          json::serialize(json::object{{"item", line.item},
                                                       {"amount", line.amount},
                                                       {"incurred_on", line.incurred_on},
                                                       {"description", line.description}}),
                          "ok");
  });
  if (!st.ok()) return st.error();
  return *out;
}

Result<Claim> remove_cost_line(Store& store, const Principal& p, std::string_view incident_id,
                               std::string_view claim_id, std::string_view line_id) {
  auto customer = incident_customer(store, p, incident_id, true, "insurance.claim.line.remove");
  if (!customer.ok()) return customer.error();
  const int64_t now = core::now().micros;
  std::optional<Claim> out;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = read_claim(tx, incident_id, claim_id, *customer);
    if (!c.ok()) return c.error();
    if (c->status != "draft") {
      return core::make_error_code(
          409, "claim '{}' is {}: cost lines are removed from a draft only", claim_id, c->status);
    }
    auto it = std::find_if(c->lines.begin(), c->lines.end(),
                           [&](const CostLine& l) { return l.id == line_id; });
    if (it == c->lines.end()) {
      return core::make_error_code(404, "cost line '{}' of claim '{}' not found", line_id,
                                   claim_id);
    }
    const std::string before = json::serialize(json::object{{"item", it->item},
                                                            {"amount", it->amount},
                                                            {"incurred_on", it->incurred_on},
                                                            {"description", it->description}});
    auto r = tx.q(
        "DELETE FROM insurance_claim_lines WHERE id = $1 AND claim_id = $2 AND customer_id = $3",
        {sp(line_id), sp(claim_id), sp(*customer)});
    if (!r.ok()) return r.error();
    r = tx.q("UPDATE insurance_claims SET updated_at = $2 WHERE id = $1", {sp(claim_id), sp(now)});
    if (!r.ok()) return r.error();
    c->lines.erase(it);
    c->updated_at = now;
    out = std::move(*c);
    return store.audit_in(tx, p, "insurance.claim.line.remove", "insurance_claim", claim_id,
                          *customer, before, {}, "ok");
  });
  if (!st.ok()) return st.error();
  return *out;
}

Result<Claim> change_claim_status(Store& store, const Principal& p, std::string_view incident_id,
                                  std::string_view claim_id, std::string_view status,
                                  std::string_view note) {
  auto customer = incident_customer(store, p, incident_id, true, "insurance.claim.status");
  if (!customer.ok()) return customer.error();
  if (status != "draft" && status != "submitted" && status != "paid" && status != "denied") {
    return core::make_error_code(
        400, "member 'status': '{}' is unknown (draft, submitted, paid, denied)", status);
  }
  if (note.size() > 2000) return core::make_error_code(400, "member 'note' is over 2000 bytes");
  if (status == "denied" && note.empty()) {
    return core::make_error_code(
        400, "member 'note' is required for denied: the insurer's reason, shown to the customer");
  }
  const int64_t now = core::now().micros;
  std::optional<Claim> out;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = read_claim(tx, incident_id, claim_id, *customer);
    if (!c.ok()) return c.error();
    const bool possible = (c->status == "draft" && status == "submitted") ||
                          (c->status == "submitted" && (status == "paid" || status == "denied"));
    if (!possible) {
      return core::make_error_code(
          409, "claim '{}' is {}: it cannot become {} (draft → submitted → paid or denied)",
          claim_id, c->status, status);
    }
    if (status == "submitted" && c->lines.empty()) {
      return core::make_error_code(409, "claim '{}' has no cost lines: add them before submitting",
                                   claim_id);
    }
    const std::string before = claim_state_json(*c);
    c->status = std::string(status);
    c->updated_at = now;
    if (!note.empty()) c->note = std::string(note);
    if (status == "submitted") {
      c->submitted_at = now;
    } else {
      c->decided_at = now;
    }
    auto r = tx.q(
        "UPDATE insurance_claims SET status = $2, note = $3, updated_at = $4, submitted_at = $5, "
        "decided_at = $6 WHERE id = $1",
        {sp(claim_id), sp(c->status), sp(c->note), sp(now), sp(c->submitted_at),
         sp(c->decided_at)});
    if (!r.ok()) return r.error();
    std::string text = fmt::format("保険請求を「{}」にしました", claim_status_ja(status));
    if (!note.empty()) text += fmt::format(": {}", note);
    if (auto t = add_timeline(tx, p, *c, now, text); !t.ok()) return t;
    out = *c;
    return store.audit_in(tx, p, "insurance.claim.status", "insurance_claim", claim_id, *customer,
                          before, claim_state_json(*c), "ok");
  });
  if (!st.ok()) return st.error();
  return *out;
}

Result<InsurancePolicy> claim_policy(Store& store, const Principal& p, const Claim& claim) {
  if (auto a = store.allow(p, claim.customer_id, false, "insurance.claim.read", "insurance_claim",
                           claim.id);
      !a.ok()) {
    return a.error();
  }
  std::optional<InsurancePolicy> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = read_policy(tx, "id", claim.policy_id);
    if (!r.ok()) return r.error();
    out = std::move(*r);
    return {};
  });
  if (!st.ok()) return st.error();
  if (!out)
    return core::make_error_code(500, "policy '{}' of claim '{}' is gone", claim.policy_id,
                                 claim.id);
  return *out;
}

}  // namespace mimamori::server
