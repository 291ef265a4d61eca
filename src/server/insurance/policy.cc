// The insurance policy of a contract: checked, stored with its coverage items as JSON text, and
// mirrored into the contract's policy number and end date.

#include <boost/json.hpp>

#include "insurance/insurance.h"
#include "insurance/internal.h"
#include "mimamori/core/clock.h"
#include "secrets.h"

namespace mimamori::server {

namespace json = boost::json;

bool valid_ymd(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  const int y = std::stoi(std::string(d.substr(0, 4))), m = std::stoi(std::string(d.substr(5, 2))),
            day = std::stoi(std::string(d.substr(8, 2)));
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || day < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

std::string items_json(const std::vector<CoverageItem>& items) {
  json::array a;
  for (const auto& c : items) {
    a.push_back(json::object{{"item", c.item}, {"limit", c.limit}, {"deductible", c.deductible}});
  }
  return json::serialize(a);
}

std::vector<CoverageItem> items_from_json(const std::string& text) {
  std::vector<CoverageItem> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (!x.is_object()) continue;
    const auto& o = x.as_object();
    CoverageItem c;
    if (auto* i = o.if_contains("item"); i && i->is_string()) c.item = std::string(i->as_string());
    if (auto* l = o.if_contains("limit"); l && l->is_int64()) c.limit = l->as_int64();
    if (auto* d = o.if_contains("deductible"); d && d->is_int64()) c.deductible = d->as_int64();
    out.push_back(c);
  }
  return out;
}

static std::string policy_state_json(const InsurancePolicy& p) {
  json::object o{{"insurer", p.insurer},
                 {"policy_number", p.policy_number},
                 {"start_date", p.start_date},
                 {"end_date", p.end_date},
                 {"items", json::parse(items_json(p.items))}};
  return json::serialize(o);
}

const char* const kPolicyColumnList =
    "id, contract_id, customer_id, insurer, policy_number, start_date, end_date, items, "
    "customer_text, created_at, updated_at";

InsurancePolicy policy_from_row(const SqlRows& r, size_t i) {
  InsurancePolicy p;
  p.id = r.str(i, 0);
  p.contract_id = r.str(i, 1);
  p.customer_id = r.str(i, 2);
  p.insurer = r.str(i, 3);
  p.policy_number = r.str(i, 4);
  p.start_date = r.str(i, 5);
  p.end_date = r.str(i, 6);
  p.items = items_from_json(r.str(i, 7));
  p.customer_text = r.str(i, 8);
  p.created_at = r.i64(i, 9);
  p.updated_at = r.i64(i, 10);
  return p;
}

Result<std::optional<InsurancePolicy>> read_policy(SqlTx& tx, std::string_view column,
                                                   std::string_view value) {
  auto r = tx.q(
      fmt::format("SELECT {} FROM insurance_policies WHERE {} = $1", kPolicyColumnList, column),
      {sp(value)});
  if (!r.ok()) return r.error();
  if (r->empty()) return std::optional<InsurancePolicy>();
  return std::optional<InsurancePolicy>(policy_from_row(*r, 0));
}

Status check_policy(const InsurancePolicy& p) {
  auto bad = [](std::string_view what) { return core::make_error_code(400, "{}", what); };
  if (p.insurer.empty() || p.insurer.size() > 200) {
    return bad("member 'insurer' is required (1..200 bytes): the insurance company's name");
  }
  if (p.policy_number.empty() || p.policy_number.size() > 100) {
    return bad("member 'policy_number' is required (1..100 bytes)");
  }
  if (!valid_ymd(p.start_date)) {
    return core::make_error_code(400, "member 'start_date' must be a date YYYY-MM-DD, got '{}'",
                                 p.start_date);
  }
  if (!valid_ymd(p.end_date)) {
    return core::make_error_code(400, "member 'end_date' must be a date YYYY-MM-DD, got '{}'",
                                 p.end_date);
  }
  if (p.end_date < p.start_date) {
    return core::make_error_code(
        400,
        "member 'end_date' ({}) is before 'start_date' ({}): the period must not end before "
        "it starts",
        p.end_date, p.start_date);
  }
  if (p.items.empty()) {
    return bad("member 'items' needs at least one coverage item");
  }
  constexpr int64_t kMaxYen = 1000000000000;  // one trillion: far above any cover, no overflow
  bool initial = false;
  for (size_t i = 0; i < p.items.size(); ++i) {
    const auto& c = p.items[i];
    if (coverage_item_name(c.item).empty()) {
      std::string known;
      for (const auto& k : kCoverageItems)
        known += (known.empty() ? "" : ", ") + std::string(k.key);
      return core::make_error_code(400, "member 'items[{}].item': '{}' is unknown ({})", i, c.item,
                                   known);
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.items[j].item == c.item) {
        return core::make_error_code(400, "member 'items[{}].item': '{}' is given twice", i,
                                     c.item);
      }
    }
    if (c.limit < 0 || c.limit > kMaxYen) {
      return core::make_error_code(400, "member 'items[{}].limit' must be 0..{} yen, got {}", i,
                                   kMaxYen, c.limit);
    }
    if (c.deductible < 0 || c.deductible > kMaxYen) {
      return core::make_error_code(400, "member 'items[{}].deductible' must be 0..{} yen, got {}",
                                   i, kMaxYen, c.deductible);
    }
    initial = initial || (c.item == "initial_response" && c.limit > 0);
  }
  if (!initial) {
    return bad(
        "member 'items' must cover 'initial_response' (初動対応費用) with a limit above 0: the "
        "insurance pays at least the first response (要件 5)");
  }
  if (p.customer_text.empty() || p.customer_text.size() > 10000) {
    return bad(
        "member 'customer_text' is required (1..10000 bytes): it tells the customer what they "
        "still pay (要件 5)");
  }
  return {};
}

Result<InsurancePolicy> put_policy(Store& store, const Principal& p, std::string_view contract_id,
                                   InsurancePolicy policy) {
  auto contract = contract_customer(store, p, contract_id, false, "insurance.policy.set");
  if (!contract.ok()) return contract.error();
  if (!p.is_system && (p.is_device || p.role != Role::kProviderAdmin)) {
    (void)store.audit(p, "insurance.policy.set", "contract", contract_id, p.customer_id, {}, {},
                      "denied");
    return core::make_error_code(403,
                                 "role {} may not set an insurance policy: provider_admin only",
                                 p.is_device ? "device" : role_name(p.role));
  }
  if (auto st = check_policy(policy); !st.ok()) return st.error();
  const int64_t now = core::now().micros;
  policy.contract_id = std::string(contract_id);
  policy.customer_id = *contract;
  policy.updated_at = now;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto cur = read_policy(tx, "contract_id", contract_id);
    if (!cur.ok()) return cur.error();
    std::string before;
    if (*cur) {
      policy.id = (*cur)->id;
      policy.created_at = (*cur)->created_at;
      before = policy_state_json(**cur);
      auto r = tx.q(
          "UPDATE insurance_policies SET insurer = $2, policy_number = $3, start_date = $4, "
          "end_date = $5, items = $6, customer_text = $7, updated_at = $8 WHERE id = $1",
          {sp(policy.id), sp(policy.insurer), sp(policy.policy_number), sp(policy.start_date),
           sp(policy.end_date), sp(items_json(policy.items)), sp(policy.customer_text), sp(now)});
      if (!r.ok()) return r.error();
    } else {
      policy.id = random_id("pol");
      policy.created_at = now;
      auto r = tx.q(
          "INSERT INTO insurance_policies (id, contract_id, customer_id, insurer, policy_number, "
          "start_date, end_date, items, customer_text, created_at, updated_at) VALUES ($1, $2, "
          "$3, $4, $5, $6, $7, $8, $9, $10, $10)",
          {sp(policy.id), sp(contract_id), sp(policy.customer_id), sp(policy.insurer),
           sp(policy.policy_number), sp(policy.start_date), sp(policy.end_date),
           sp(items_json(policy.items)), sp(policy.customer_text), sp(now)});
      if (!r.ok()) return r.error();
    }
    // The contract shows the same number and end date as its policy.
    auto r = tx.q("UPDATE contracts SET insurance_policy = $2, insurance_until = $3 WHERE id = $1",
                  {sp(contract_id), sp(policy.policy_number), sp(policy.end_date)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "insurance.policy.set", "insurance_policy", policy.id,
                          policy.customer_id, before, policy_state_json(policy), "ok");
  });
  if (!st.ok()) return st.error();
  return policy;
}

Result<InsurancePolicy> get_policy(Store& store, const Principal& p, std::string_view contract_id) {
  auto contract = contract_customer(store, p, contract_id, false, "insurance.policy.read");
  if (!contract.ok()) return contract.error();
  std::optional<InsurancePolicy> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = read_policy(tx, "contract_id", contract_id);
    if (!r.ok()) return r.error();
    out = std::move(*r);
    return {};
  });
  if (!st.ok()) return st.error();
  if (!out) {
    return core::make_error_code(404, "contract '{}' has no insurance policy yet", contract_id);
  }
  return *out;
}

Result<std::string> contract_customer(Store& store, const Principal& p,
                                      std::string_view contract_id, bool write,
                                      std::string_view action) {
  std::string customer;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT customer_id FROM contracts WHERE id = $1", {sp(contract_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) customer = r->str(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto a = store.allow(p, customer, write, action, "contract", contract_id); !a.ok()) {
    return a.error();
  }
  if (customer.empty()) return core::make_error_code(404, "contract '{}' not found", contract_id);
  return customer;
}

}  // namespace mimamori::server
