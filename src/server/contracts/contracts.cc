// Plans and contracts over the store. A plan is kept as its JSON form beside the columns that
// listings filter on, so a new plan member needs no migration.

#include "contracts/contracts.h"

#include <boost/json.hpp>

#include "mimamori/core/clock.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

Status provider_admin_only(Store& store, const Principal& p, std::string_view action,
                           std::string_view type, std::string_view id) {
  if (p.is_system || (!p.is_device && p.role == Role::kProviderAdmin)) return {};
  (void)store.audit(p, action, type, id, p.customer_id, {}, {}, "denied");
  // A customer role learns nothing about objects it cannot change: the same 403 for all.
  return core::make_error_code(403, "role {} may not {}: provider_admin only",
                               p.is_device ? "device" : role_name(p.role), action);
}

Status refuse_non_compliant(const Plan& plan, const PricePolicy& policy) {
  if (plan.status != "registered") return {};
  auto report = check_plan(plan, policy);
  if (report.compliant()) return {};
  return core::make_error_code(422, "plan '{}' cannot be registered: {}", plan.name,
                               violations_text(report));
}

Result<Plan> plan_from_row(const SqlRows& r, size_t i) {
  auto p = parse_plan_json(r.str(i, 1), fmt::format("plans row {}", r.str(i, 0)));
  if (!p.ok()) return p.error();
  p->id = r.str(i, 0);
  p->created_at = r.i64(i, 2);
  p->updated_at = r.i64(i, 3);
  return p;
}

// YYYY-MM-DD with a real month and day.
bool valid_date(std::string_view d) {
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

constexpr const char* kContractColumns =
    "id, customer_id, plan_id, devices, device_ids, start_date, end_date, insurance_policy, "
    "insurance_until, status, renewals, created_at";

Contract contract_from_row(const SqlRows& r, size_t i) {
  Contract c;
  c.id = r.str(i, 0);
  c.customer_id = r.str(i, 1);
  c.plan_id = r.str(i, 2);
  c.devices = r.i64(i, 3);
  c.device_ids = ids_from_json(r.str(i, 4));
  c.start_date = r.str(i, 5);
  c.end_date = r.str(i, 6);
  c.insurance_policy = r.str(i, 7);
  c.insurance_until = r.str(i, 8);
  c.status = r.str(i, 9);
  c.renewals = r.i64(i, 10);
  c.created_at = r.i64(i, 11);
  return c;
}

}  // namespace

std::string violations_text(const ComplianceReport& report) {
  std::string out;
  for (const auto& v : report.violations) {
    if (!out.empty()) out += "; ";
    out += fmt::format("[{}] {}", v.rule, v.message_ja);
  }
  return out;
}

Result<Plan> create_plan(Store& store, const Principal& p, Plan plan, const PricePolicy& policy) {
  if (auto a = provider_admin_only(store, p, "plan.create", "plan", plan.name); !a.ok()) {
    return a.error();
  }
  if (auto st = refuse_non_compliant(plan, policy); !st.ok()) {
    (void)store.audit(p, "plan.create", "plan", plan.name, {}, {}, {}, "refused");
    return st.error();
  }
  plan.id = random_id("pln");
  plan.created_at = plan.updated_at = core::now().micros;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "INSERT INTO plans (id, name, status, body, created_at, updated_at) VALUES ($1, $2, $3, "
        "$4, $5, $6)",
        {sp(plan.id), sp(plan.name), sp(plan.status), sp(plan_to_json(plan)), sp(plan.created_at),
         sp(plan.updated_at)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "plan.create", "plan", plan.id, {}, {}, plan_to_json(plan), "ok");
  });
  if (!st.ok()) return st.error();
  return plan;
}

Result<Plan> update_plan(Store& store, const Principal& p, std::string_view id, Plan plan,
                         const PricePolicy& policy) {
  if (auto a = provider_admin_only(store, p, "plan.update", "plan", id); !a.ok()) return a.error();
  if (auto st = refuse_non_compliant(plan, policy); !st.ok()) {
    (void)store.audit(p, "plan.update", "plan", id, {}, {}, {}, "refused");
    return st.error();
  }
  plan.id = std::string(id);
  plan.updated_at = core::now().micros;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto cur = tx.q("SELECT id, body, created_at, updated_at FROM plans WHERE id = $1", {sp(id)});
    if (!cur.ok()) return cur.error();
    if (cur->empty()) return core::make_error_code(404, "plan '{}' not found", id);
    plan.created_at = cur->i64(0, 2);
    const std::string before = cur->str(0, 1);
    auto r =
        tx.q("UPDATE plans SET name = $2, status = $3, body = $4, updated_at = $5 WHERE id = $1",
             {sp(id), sp(plan.name), sp(plan.status), sp(plan_to_json(plan)), sp(plan.updated_at)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "plan.update", "plan", id, {}, before, plan_to_json(plan), "ok");
  });
  if (!st.ok()) return st.error();
  return plan;
}

Result<std::vector<Plan>> list_plans(Store& store, const Principal& p) {
  if (p.is_device) return core::make_error_code(403, "devices do not read plans");
  std::vector<Plan> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT id, body, created_at, updated_at FROM plans ORDER BY name, id");
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      auto plan = plan_from_row(*r, i);
      if (!plan.ok()) return plan.error();
      out.push_back(std::move(*plan));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Plan> get_plan(Store& store, const Principal& p, std::string_view id) {
  if (p.is_device) return core::make_error_code(403, "devices do not read plans");
  std::optional<Plan> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT id, body, created_at, updated_at FROM plans WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    auto plan = plan_from_row(*r, 0);
    if (!plan.ok()) return plan.error();
    out = std::move(*plan);
    return {};
  });
  if (!st.ok()) return st.error();
  if (!out) return core::make_error_code(404, "plan '{}' not found", id);
  return *out;
}

Result<Contract> create_contract(Store& store, const Principal& p, Contract c) {
  if (auto a = store.allow(p, c.customer_id, true, "contract.create", "customer", c.customer_id);
      !a.ok()) {
    return a.error();
  }
  if (auto a = provider_admin_only(store, p, "contract.create", "customer", c.customer_id);
      !a.ok()) {
    return a.error();
  }
  if (c.customer_id.empty()) return core::make_error_code(400, "member 'customer_id' is required");
  if (c.plan_id.empty()) return core::make_error_code(400, "member 'plan_id' is required");
  if (!valid_date(c.start_date)) {
    return core::make_error_code(400, "member 'start_date' must be a date YYYY-MM-DD, got '{}'",
                                 c.start_date);
  }
  if (!c.end_date.empty() && (!valid_date(c.end_date) || c.end_date < c.start_date)) {
    return core::make_error_code(
        400, "member 'end_date' must be a date YYYY-MM-DD not before start_date, got '{}'",
        c.end_date);
  }
  if (c.insurance_policy.empty() || c.insurance_policy.size() > 200) {
    return core::make_error_code(
        400,
        "member 'insurance_policy' is required (1..200 bytes): a contract includes the "
        "cyber insurance (要件 5, 6)");
  }
  if (!valid_date(c.insurance_until)) {
    return core::make_error_code(
        400, "member 'insurance_until' must be a date YYYY-MM-DD, got '{}'", c.insurance_until);
  }
  if (c.status != "active" && c.status != "ended" && c.status != "cancelled") {
    return core::make_error_code(400, "member 'status': '{}' is unknown (active, ended, cancelled)",
                                 c.status);
  }
  if (c.renewals < 0) return core::make_error_code(400, "member 'renewals' must not be negative");
  c.id = random_id("ctr");
  c.created_at = core::now().micros;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto cus = tx.q("SELECT id FROM customers WHERE id = $1", {sp(c.customer_id)});
    if (!cus.ok()) return cus.error();
    if (cus->empty()) return core::make_error_code(404, "customer '{}' not found", c.customer_id);
    auto pr =
        tx.q("SELECT id, body, created_at, updated_at FROM plans WHERE id = $1", {sp(c.plan_id)});
    if (!pr.ok()) return pr.error();
    if (pr->empty()) return core::make_error_code(404, "plan '{}' not found", c.plan_id);
    auto plan = plan_from_row(*pr, 0);
    if (!plan.ok()) return plan.error();
    if (plan->status != "registered") {
      return core::make_error_code(409, "plan '{}' is {}: a contract needs a registered plan",
                                   plan->name, plan->status);
    }
    if (c.devices < plan->min_devices || (plan->max_devices > 0 && c.devices > plan->max_devices)) {
      return core::make_error_code(
          400, "member 'devices': {} is outside the plan's {}..{} devices", c.devices,
          plan->min_devices,
          plan->max_devices > 0 ? std::to_string(plan->max_devices) : std::string("any"));
    }
    if (static_cast<int64_t>(c.device_ids.size()) > c.devices) {
      return core::make_error_code(400, "member 'device_ids': {} devices, the contract is for {}",
                                   c.device_ids.size(), c.devices);
    }
    for (const auto& d : c.device_ids) {
      auto dr = tx.q("SELECT id FROM devices WHERE id = $1 AND customer_id = $2",
                     {sp(d), sp(c.customer_id)});
      if (!dr.ok()) return dr.error();
      // Another customer's device is as unknown as a missing one.
      if (dr->empty()) {
        return core::make_error_code(400, "member 'device_ids': device '{}' is not the customer's",
                                     d);
      }
    }
    auto r = tx.q(
        "INSERT INTO contracts (id, customer_id, plan_id, devices, device_ids, start_date, "
        "end_date, insurance_policy, insurance_until, status, renewals, created_at) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {sp(c.id), sp(c.customer_id), sp(c.plan_id), sp(c.devices), sp(ids_json(c.device_ids)),
         sp(c.start_date), sp(c.end_date), sp(c.insurance_policy), sp(c.insurance_until),
         sp(c.status), sp(c.renewals), sp(c.created_at)});
    if (!r.ok()) return r.error();
    return store.audit_in(
        tx, p, "contract.create", "contract", c.id, c.customer_id, {},
        fmt::format("{{\"plan_id\":\"{}\",\"devices\":{}}}", c.plan_id, c.devices), "ok");
  });
  if (!st.ok()) return st.error();
  return c;
}

Result<std::vector<Contract>> list_contracts(Store& store, const Principal& p,
                                             std::string_view customer_id) {
  if (!p.is_system && !is_provider_role(p.role) && customer_id.empty()) {
    customer_id = p.customer_id;
  }
  if (!customer_id.empty() || p.is_device || (!p.is_system && !is_provider_role(p.role))) {
    if (auto a = store.allow(p, customer_id, false, "contract.list", "customer", customer_id);
        !a.ok()) {
      return a.error();
    }
  }
  std::vector<Contract> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM contracts WHERE ($1 = '' OR customer_id = $1) ORDER "
                              "BY created_at DESC, id",
                              kContractColumns),
                  {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(contract_from_row(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Contract> get_contract(Store& store, const Principal& p, std::string_view id) {
  std::optional<Contract> c;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r =
        tx.q(fmt::format("SELECT {} FROM contracts WHERE id = $1", kContractColumns), {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) c = contract_from_row(*r, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto a = store.allow(p, c ? c->customer_id : std::string(), false, "contract.read",
                           "contract", id);
      !a.ok()) {
    return a.error();
  }
  if (!c) return core::make_error_code(404, "contract '{}' not found", id);
  return *c;
}

}  // namespace mimamori::server
