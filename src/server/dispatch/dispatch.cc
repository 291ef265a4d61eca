// Dispatches: opening from an incident or a ticket, remote support, the on-site request with
// its promised arrival, the visit's states, actions, evidence, the customer's sign-off, the
// idempotency of every change, the missed-arrival warning and the timeline for claims.

#include "dispatch/dispatch.h"

#include <algorithm>
#include <optional>

#include "contracts/contracts.h"
#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/text.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kSelect =
    "SELECT d.id, d.customer_id, COALESCE(d.incident_id, ''), COALESCE(d.ticket_id, ''), "
    "d.kind, d.state, d.summary, d.remote_done, d.remote_outcome, d.prefecture, d.address, "
    "d.skills, COALESCE(d.technician_id, ''), COALESCE(u.email, ''), d.requested_at, "
    "d.promised_at, d.onsite_hours, d.promise_source, d.signoff_name, d.signoff_at, "
    "d.late_warned_at, d.created_by, d.created_at, d.updated_at FROM dispatches d LEFT JOIN "
    "users u ON u.id = d.technician_id";

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find('\n', at);
    if (next == std::string::npos) next = s.size();
    if (next > at) out.push_back(s.substr(at, next - at));
    at = next + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += '\n';
    s += x;
  }
  return s;
}

Dispatch dispatch_from(const SqlRows& r, size_t i) {
  Dispatch d;
  d.id = r.str(i, 0);
  d.customer_id = r.str(i, 1);
  d.incident_id = r.str(i, 2);
  d.ticket_id = r.str(i, 3);
  d.kind = r.str(i, 4);
  d.state = r.str(i, 5);
  d.summary = r.str(i, 6);
  d.remote_done = r.str(i, 7);
  d.remote_outcome = r.str(i, 8);
  d.prefecture = r.str(i, 9);
  d.address = r.str(i, 10);
  d.skills = lines(r.str(i, 11));
  d.technician_id = r.str(i, 12);
  d.technician_email = r.str(i, 13);
  d.requested_at = r.i64(i, 14);
  d.promised_at = r.i64(i, 15);
  d.onsite_hours = r.i64(i, 16);
  d.promise_source = r.str(i, 17);
  d.signoff_name = r.str(i, 18);
  d.signoff_at = r.i64(i, 19);
  d.late_warned_at = r.i64(i, 20);
  d.created_by = r.str(i, 21);
  d.created_at = r.i64(i, 22);
  d.updated_at = r.i64(i, 23);
  return d;
}

Result<Dispatch> read_dispatch(SqlTx& tx, std::string_view id) {
  auto r = tx.q(std::string(kSelect) + " WHERE d.id = $1", {sp(id)});
  if (!r.ok()) return r.error();
  if (r->empty()) return core::make_error_code(404, "dispatch '{}' not found", id);
  return dispatch_from(*r, 0);
}

std::string state_json(const Dispatch& d) {
  std::string j = "{\"state\":";
  core::append_json_string(j, d.state);
  j += ",\"kind\":";
  core::append_json_string(j, d.kind);
  j += ",\"technician_id\":";
  core::append_json_string(j, d.technician_id);
  j += fmt::format(",\"promised_at\":{}", d.promised_at);
  j += ",\"signoff_name\":";
  core::append_json_string(j, d.signoff_name);
  return j + "}";
}

std::string actor_key(const Principal& p) { return p.user_id.empty() ? p.name : p.user_id; }

// Claims `key` for `p` in the caller's write transaction. True (and `replay` filled) when the
// same user sent it before: nothing is to change.
Result<bool> claim_key(SqlTx& tx, const Principal& p, std::string_view key,
                       std::string_view dispatch_id, IdempotentAnswer* replay) {
  if (key.empty()) return false;
  auto r = tx.q(
      "SELECT status, answer, dispatch_id FROM dispatch_requests WHERE actor = $1 AND "
      "idempotency_key = $2",
      {sp(actor_key(p)), sp(key)});
  if (!r.ok()) return r.error();
  if (!r->empty()) {
    if (!dispatch_id.empty() && r->str(0, 2) != dispatch_id) {
      return core::make_error_code(
          409, "Idempotency-Key '{}' was already used for dispatch '{}': use a new key", key,
          r->str(0, 2));
    }
    if (replay) {
      replay->found = true;
      replay->status = static_cast<int>(r->i64(0, 0));
      replay->body = r->str(0, 1);
    }
    return true;
  }
  return false;
}

Status record_key(SqlTx& tx, const Principal& p, std::string_view key, std::string_view dispatch_id,
                  int64_t now) {
  if (key.empty()) return {};
  auto r = tx.q(
      "INSERT INTO dispatch_requests (actor, idempotency_key, dispatch_id, created_at) VALUES "
      "($1, $2, $3, $4) ON CONFLICT (actor, idempotency_key) DO NOTHING",
      {sp(actor_key(p)), sp(key), sp(dispatch_id), sp(now)});
  if (!r.ok()) return r.error();
  if (r->affected != 1) {
    return core::make_error_code(
        409, "a request with Idempotency-Key '{}' is being handled: send it again in a moment",
        key);
  }
  return {};
}

// One step of the history, mirrored on the incident's timeline.
Status add_step(SqlTx& tx, const Dispatch& d, std::string_view state, std::string_view actor,
                std::string_view note, int64_t now) {
  auto r = tx.q(
      "INSERT INTO dispatch_steps (id, dispatch_id, customer_id, at, state, actor, note) VALUES "
      "($1, $2, $3, $4, $5, $6, $7)",
      {sp(random_id("dst")), sp(d.id), sp(d.customer_id), sp(now), sp(state), sp(actor), sp(note)});
  if (!r.ok()) return r.error();
  if (!d.incident_id.empty()) {
    std::string text = fmt::format("駆け付け {}: {}", d.id, state);
    if (!note.empty()) text += fmt::format(" — {}", note);
    r = tx.q(
        "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
        "VALUES ($1, $2, $3, $4, $5, 'dispatch', $6)",
        {sp(random_id("tl")), sp(d.incident_id), sp(d.customer_id), sp(now), sp(actor), sp(text)});
    if (!r.ok()) return r.error();
  }
  return {};
}

// The promised arrival of a visit requested at `now`: the customer's active contract's plan
// (dispatch_arrival_hours), else the configured default.
void promise(Store& store, const DispatchOptions& o, Dispatch& d, int64_t now) {
  d.onsite_hours = o.onsite_hours;
  d.promise_source = "config";
  const Principal sys = Principal::system("dispatch");
  auto cs = list_contracts(store, sys, d.customer_id);
  if (cs.ok()) {
    const std::string today = core::format_local(core::Timestamp{now}).substr(0, 10);
    for (const auto& c : *cs) {
      if (c.status != "active" || c.start_date > today) continue;
      if (!c.end_date.empty() && c.end_date < today) continue;
      auto plan = get_plan(store, sys, c.plan_id);
      if (plan.ok() && plan->dispatch_arrival_hours > 0) {
        d.onsite_hours = plan->dispatch_arrival_hours;
        d.promise_source = "plan:" + c.plan_id;
        break;
      }
    }
  }
  d.requested_at = now;
  d.promised_at = now + d.onsite_hours * 3600 * 1000000;
}

Status check_onsite_fields(std::string_view prefecture, std::string_view address,
                           const std::vector<std::string>& skills) {
  if (!is_prefecture(prefecture)) {
    return core::make_error_code(
        400, "member 'prefecture': '{}' is not one of the 47 prefectures (e.g. 東京都)",
        prefecture);
  }
  if (address.size() > 1000)
    return core::make_error_code(400, "member 'address': at most 1000 bytes");
  if (skills.size() > 20) return core::make_error_code(400, "member 'skills': at most 20");
  for (const auto& s : skills) {
    if (s.empty() || s.size() > 100 || s.find('\n') != std::string::npos) {
      return core::make_error_code(400, "member 'skills': '{}' must be 1..100 bytes on one line",
                                   s);
    }
  }
  return {};
}

// Sets the visit on `d` (technician, promise); inside the write transaction.
Status assign_visit(SqlTx& tx, Dispatch& d, std::string_view technician_id, int64_t now) {
  if (!technician_id.empty()) {
    auto r = tx.q(
        "SELECT u.email FROM technicians t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1",
        {sp(technician_id)});
    if (!r.ok()) return r.error();
    if (r->empty()) {
      return core::make_error_code(400, "member 'technician_id': '{}' has no technician profile",
                                   technician_id);
    }
    d.technician_id = std::string(technician_id);
    d.technician_email = r->str(0, 0);
    return {};
  }
  auto t = choose_technician(tx, d.prefecture, d.skills, now);
  if (!t.ok()) return t.error();
  d.technician_id = t->user_id;
  d.technician_email = t->email;
  return {};
}

Status update_row(SqlTx& tx, const Dispatch& before, const Dispatch& d) {
  auto r = tx.q(
      "UPDATE dispatches SET kind = $2, state = $3, remote_done = $4, remote_outcome = $5, "
      "prefecture = $6, address = $7, skills = $8, technician_id = $9, requested_at = $10, "
      "promised_at = $11, onsite_hours = $12, promise_source = $13, signoff_name = $14, "
      "signoff_at = $15, updated_at = $16 WHERE id = $1 AND state = $17 AND updated_at = $18",
      {sp(d.id), sp(d.kind), sp(d.state), sp(d.remote_done), sp(d.remote_outcome), sp(d.prefecture),
       sp(d.address), sp(joined(d.skills)), sp_or_null(d.technician_id), sp(d.requested_at),
       sp(d.promised_at), sp(d.onsite_hours), sp(d.promise_source), sp(d.signoff_name),
       sp(d.signoff_at), sp(d.updated_at), sp(before.state), sp(before.updated_at)});
  if (!r.ok()) return r.error();
  if (r->affected != 1) {
    return core::make_error_code(409, "dispatch '{}' changed meanwhile: read it again", d.id);
  }
  return {};
}

bool soc(const Principal& p) {
  return p.is_system || p.role == Role::kProviderAdmin || p.role == Role::kAnalyst;
}

// The steps of the visit: which state each action needs and gives.
struct Transition {
  std::string_view action, from, to;
};
constexpr Transition kVisit[] = {{"depart", "assigned", "departed"},
                                 {"arrive", "departed", "arrived"},
                                 {"work", "arrived", "working"},
                                 {"finish", "working", "finished"},
                                 {"signoff", "finished", "signed_off"}};

Status denied(Store& store, const Principal& p, std::string_view action, const Dispatch& d,
              std::string_view why) {
  const bool customer = !p.is_system && !is_provider_role(p.role);
  (void)store.audit(p, action, "dispatch", d.id, customer ? p.customer_id : d.customer_id, {}, {},
                    "denied");
  return core::make_error_code(403, "{}", why);
}

// A dispatch and the tenant check of `action` by `p` (another customer's: 404, audited).
Result<Dispatch> checked(Store& store, const Principal& p, std::string_view id,
                         std::string_view action) {
  if (p.is_device) return core::make_error_code(403, "devices have no dispatches");
  std::optional<Dispatch> d;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = read_dispatch(tx, id);
    if (r.ok()) d = std::move(*r);
    return r.ok() || r.error().code == 404 ? Status{} : Status{r.error()};
  });
  if (!st.ok()) return st.error();
  if (auto a = store.allow(p, d ? d->customer_id : std::string(), false, action, "dispatch", id);
      !a.ok()) {
    return a.error();
  }
  if (!d) return core::make_error_code(404, "dispatch '{}' not found", id);
  return *d;
}

// The technician's own dispatch, or the SOC acting on their behalf.
Status may_visit(Store& store, const Principal& p, std::string_view action, const Dispatch& d) {
  if (soc(p)) return {};
  if (p.role == Role::kTechnician && !d.technician_id.empty() && d.technician_id == p.user_id) {
    return {};
  }
  if (p.role == Role::kTechnician) {
    return denied(store, p, action, d, "this dispatch is assigned to another technician");
  }
  return denied(store, p, action, d,
                fmt::format("role {} may not record a visit's steps", role_name(p.role)));
}

}  // namespace

core::Status check_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 200) {
    return core::make_error_code(400, "Idempotency-Key must be 1..200 characters");
  }
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return core::make_error_code(400, "Idempotency-Key must be printable ASCII without spaces");
    }
  }
  return {};
}

core::Status check_dispatch_options(const DispatchOptions& o) {
  if (o.onsite_hours <= 0 || o.onsite_hours > 24 * 30) {
    return core::make_error("key 'dispatch.onsite_hours': must be 1..720 hours, got {}",
                            o.onsite_hours);
  }
  if (o.max_evidence_bytes <= 0 || o.max_evidence_files <= 0) {
    return core::make_error(
        "keys 'dispatch.max_evidence_bytes' and 'dispatch.max_evidence_files' must be positive");
  }
  return {};
}

Result<Dispatch> open_dispatch(Store& store, const Principal& p, const DispatchOptions& options,
                               NewDispatch n, IdempotentAnswer* replay) {
  if (p.is_device) return core::make_error_code(403, "devices open no dispatches");
  if (n.incident_id.empty() == n.ticket_id.empty()) {
    return core::make_error_code(400, "give one of 'incident_id' or 'ticket_id'");
  }
  if (n.kind != "remote" && n.kind != "onsite") {
    return core::make_error_code(400, "member 'kind' must be remote or onsite");
  }
  if (n.summary.size() > 10000) {
    return core::make_error_code(400, "member 'summary': at most 10000 bytes");
  }
  // Whose incident or ticket it is (another customer's: 404 for a customer role, audited).
  std::string owner;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = n.incident_id.empty()
                 ? tx.q("SELECT customer_id FROM desk_tickets WHERE id = $1", {sp(n.ticket_id)})
                 : tx.q("SELECT customer_id FROM incidents WHERE id = $1", {sp(n.incident_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) owner = r->str(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  const std::string object = n.incident_id.empty() ? "desk_ticket" : "incident";
  const std::string object_id = n.incident_id.empty() ? n.ticket_id : n.incident_id;
  if (auto a = store.allow(p, owner, false, "dispatch.open", object, object_id); !a.ok()) {
    return a.error();
  }
  if (owner.empty()) return core::make_error_code(404, "{} '{}' not found", object, object_id);
  if (!n.customer_id.empty() && n.customer_id != owner) {
    return core::make_error_code(400, "{} '{}' is of customer '{}', not '{}'", object, object_id,
                                 owner, n.customer_id);
  }
  Dispatch d;
  d.id = random_id("dsp");
  d.customer_id = owner;
  if (!p.is_system && p.role != Role::kProviderAdmin && p.role != Role::kAnalyst &&
      p.role != Role::kDesk) {
    return denied(store, p, "dispatch.open", d,
                  fmt::format("role {} may not open a dispatch", role_name(p.role)))
        .error();
  }
  if (n.kind == "onsite") {
    if (auto s = check_onsite_fields(n.prefecture, n.address, n.skills); !s.ok()) {
      return s.error();
    }
  }
  const int64_t now = core::now().micros;
  d.incident_id = n.incident_id;
  d.ticket_id = n.ticket_id;
  d.kind = n.kind;
  d.summary = n.summary;
  d.created_by = p.name;
  d.created_at = d.updated_at = now;
  d.state = "remote";
  if (n.kind == "onsite") {
    d.state = "assigned";
    d.prefecture = n.prefecture;
    d.address = n.address;
    d.skills = n.skills;
    promise(store, options, d, now);
  }
  bool replayed = false;
  st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto seen = claim_key(tx, p, n.idempotency_key, "", replay);
    if (!seen.ok()) return seen.error();
    if (*seen) {
      replayed = true;
      return {};
    }
    if (auto s = record_key(tx, p, n.idempotency_key, d.id, now); !s.ok()) return s;
    if (d.kind == "onsite") {
      if (auto s = assign_visit(tx, d, n.technician_id, now); !s.ok()) return s;
    }
    auto r = tx.q(
        "INSERT INTO dispatches (id, customer_id, incident_id, ticket_id, kind, state, summary, "
        "prefecture, address, skills, technician_id, requested_at, promised_at, onsite_hours, "
        "promise_source, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
        {sp(d.id), sp(d.customer_id), sp_or_null(d.incident_id), sp_or_null(d.ticket_id),
         sp(d.kind), sp(d.state), sp(d.summary), sp(d.prefecture), sp(d.address),
         sp(joined(d.skills)), sp_or_null(d.technician_id), sp(d.requested_at), sp(d.promised_at),
         sp(d.onsite_hours), sp(d.promise_source), sp(d.created_by), sp(d.created_at)});
    if (!r.ok()) return r.error();
    const std::string note = d.kind == "onsite"
                                 ? fmt::format("担当 {}、到着予定 {}", d.technician_email,
                                               core::format_local(core::Timestamp{d.promised_at}))
                                 : d.summary;
    if (auto s = add_step(tx, d, d.state, p.name, note, now); !s.ok()) return s;
    return store.audit_in(tx, p, "dispatch." + d.state, "dispatch", d.id, d.customer_id, {},
                          state_json(d), "ok");
  });
  if (!st.ok()) return st.error();
  if (replayed) {
    // The first answer's dispatch as it is now (the handler answers the stored body).
    Dispatch none;
    return none;
  }
  return d;
}

Result<std::vector<Dispatch>> list_dispatches(Store& store, const Principal& p,
                                              const DispatchQuery& in) {
  DispatchQuery q = in;
  if (p.is_device) return core::make_error_code(403, "devices have no dispatches");
  if (!p.is_system && !is_provider_role(p.role)) {
    if (!q.customer_id.empty() && q.customer_id != p.customer_id) {
      return store.allow(p, q.customer_id, false, "dispatch.list", "customer", q.customer_id)
          .error();
    }
    q.customer_id = p.customer_id;
  }
  if (q.technician_id == "me") q.technician_id = p.user_id.empty() ? "-" : p.user_id;
  std::vector<Dispatch> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        std::string(kSelect) +
            " WHERE ($1 = '' OR d.customer_id = $1) AND ($2 = '' OR d.incident_id = $2) "
            "AND ($3 = '' OR d.ticket_id = $3) AND ($4 = '' OR d.technician_id = $4) "
            "AND ($5 = '' OR d.state = $5) ORDER BY d.created_at DESC, d.id" +
            page_sql(q.limit, q.offset),
        {sp(q.customer_id), sp(q.incident_id), sp(q.ticket_id), sp(q.technician_id), sp(q.state)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(dispatch_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Dispatch> get_dispatch(Store& store, const Principal& p, std::string_view id) {
  auto d = checked(store, p, id, "dispatch.read");
  if (!d.ok()) return d.error();
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT at, state, actor, note FROM dispatch_steps WHERE dispatch_id = $1 AND "
        "customer_id = $2 ORDER BY at, id",
        {sp(id), sp(d->customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      d->steps.push_back({r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3), d->id});
    }
    r = tx.q(
        "SELECT id, filename, content_type, sniffed_type, size, sha256, actor, created_at FROM "
        "dispatch_evidence WHERE dispatch_id = $1 AND customer_id = $2 ORDER BY created_at, id",
        {sp(id), sp(d->customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      DispatchEvidence f;
      f.id = r->str(i, 0);
      f.dispatch_id = d->id;
      f.customer_id = d->customer_id;
      f.filename = r->str(i, 1);
      f.content_type = r->str(i, 2);
      f.sniffed_type = r->str(i, 3);
      f.size = r->i64(i, 4);
      f.sha256 = r->str(i, 5);
      f.actor = r->str(i, 6);
      f.created_at = r->i64(i, 7);
      d->evidence.push_back(std::move(f));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return d;
}

Result<Dispatch> change_dispatch(Store& store, const Principal& p, const DispatchOptions& options,
                                 std::string_view id, const DispatchChange& c,
                                 IdempotentAnswer* replay) {
  static constexpr std::string_view kActions[] = {"remote", "onsite", "depart", "arrive",
                                                  "work",   "finish", "action", "signoff"};
  if (std::find(std::begin(kActions), std::end(kActions), c.action) == std::end(kActions)) {
    return core::make_error_code(
        404,
        "unknown dispatch action '{}' (remote, onsite, depart, arrive, work, finish, "
        "action, signoff)",
        c.action);
  }
  const std::string audit_action = "dispatch." + c.action;
  auto x = checked(store, p, id, audit_action);
  if (!x.ok()) return x.error();
  const Dispatch& d0 = *x;
  // Who may do it.
  const bool customer = !p.is_system && !is_provider_role(p.role);
  if (c.action == "remote" || c.action == "onsite") {
    if (!soc(p) && p.role != Role::kDesk) {
      return denied(store, p, audit_action, d0,
                    fmt::format("role {} may not {} a dispatch", role_name(p.role),
                                c.action == "remote" ? "record remote support of" : "send"))
          .error();
    }
  } else if (c.action == "signoff" && customer) {
    // The customer's own organisation (checked above); any of its users signs.
  } else if (auto s = may_visit(store, p, audit_action, d0); !s.ok()) {
    return s.error();
  }
  // The input, before anything is read again.
  if (c.action == "remote") {
    if (c.text.empty() || c.text.size() > 10000) {
      return core::make_error_code(400,
                                   "member 'text' (what was done remotely) must be "
                                   "1..10000 bytes");
    }
    if (c.outcome != "resolved" && c.outcome != "unresolved") {
      return core::make_error_code(400, "member 'outcome' must be resolved or unresolved");
    }
  } else if (c.action == "onsite") {
    if (auto s = check_onsite_fields(c.prefecture, c.address, c.skills); !s.ok()) {
      return s.error();
    }
  } else if (c.action == "action") {
    if (c.text.empty() || c.text.size() > 10000) {
      return core::make_error_code(400, "member 'text' (the action taken) must be 1..10000 bytes");
    }
  } else if (c.action == "signoff") {
    if (c.name.empty() || c.name.size() > 200 || c.name.find('\n') != std::string::npos) {
      return core::make_error_code(400,
                                   "member 'name' (who signs for the customer) must be 1..200 "
                                   "bytes on one line");
    }
  } else if (c.text.size() > 10000) {
    return core::make_error_code(400, "member 'text': at most 10000 bytes");
  }
  const int64_t now = core::now().micros;
  Dispatch planned = d0;
  if (c.action == "onsite") {
    planned.prefecture = c.prefecture;
    planned.address = c.address;
    planned.skills = c.skills;
    promise(store, options, planned, now);
  }
  Dispatch out;
  bool replayed = false;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto seen = claim_key(tx, p, c.idempotency_key, id, replay);
    if (!seen.ok()) return seen.error();
    if (*seen) {
      replayed = true;
      return {};
    }
    auto cur = read_dispatch(tx, id);
    if (!cur.ok()) return cur.error();
    const Dispatch before = *cur;
    Dispatch d = before;
    std::string step_state, note = c.text;
    if (c.action == "remote") {
      if (d.state != "remote") {
        return core::make_error_code(
            409, "dispatch is {}: remote support is recorded while it is remote", d.state);
      }
      d.remote_done = d.remote_done.empty() ? c.text : d.remote_done + "\n" + c.text;
      d.remote_outcome = c.outcome;
      if (c.outcome == "resolved") d.state = "resolved";
      step_state = d.state;
      note = fmt::format("{} ({})", c.text, c.outcome == "resolved" ? "解決" : "未解決");
    } else if (c.action == "onsite") {
      if (d.state != "remote") {
        return core::make_error_code(
            409, "dispatch is {}: a visit is sent from remote support (state remote)", d.state);
      }
      d.kind = "onsite";
      d.state = "assigned";
      d.prefecture = planned.prefecture;
      d.address = planned.address;
      d.skills = planned.skills;
      d.requested_at = planned.requested_at;
      d.promised_at = planned.promised_at;
      d.onsite_hours = planned.onsite_hours;
      d.promise_source = planned.promise_source;
      if (auto s = assign_visit(tx, d, c.technician_id, now); !s.ok()) return s;
      step_state = "assigned";
      note = fmt::format("担当 {}、到着予定 {}", d.technician_email,
                         core::format_local(core::Timestamp{d.promised_at}));
    } else if (c.action == "action") {
      if (d.state != "assigned" && d.state != "departed" && d.state != "arrived" &&
          d.state != "working" && d.state != "finished") {
        return core::make_error_code(
            409, "dispatch is {}: actions are recorded during a visit (assigned to finished)",
            d.state);
      }
      step_state = "action";
    } else {
      const Transition* t = nullptr;
      for (const auto& v : kVisit) {
        if (v.action == c.action) t = &v;
      }
      if (d.state != t->from) {
        return core::make_error_code(409, "dispatch is {}: {} needs state {}", d.state, c.action,
                                     t->from);
      }
      d.state = std::string(t->to);
      step_state = d.state;
      if (c.action == "signoff") {
        d.signoff_name = c.name;
        d.signoff_at = now;
        note = c.name;
      }
    }
    if (auto s = record_key(tx, p, c.idempotency_key, id, now); !s.ok()) return s;
    d.updated_at = now;
    if (c.action != "action") {
      if (auto s = update_row(tx, before, d); !s.ok()) return s;
    } else {
      auto r = tx.q("UPDATE dispatches SET updated_at = $2 WHERE id = $1", {sp(id), sp(now)});
      if (!r.ok()) return r.error();
    }
    if (auto s = add_step(tx, d, step_state, p.name, note, now); !s.ok()) return s;
    out = d;
    const std::string what = c.action == "action" ? "dispatch.action" : "dispatch." + step_state;
    return store.audit_in(tx, p, what, "dispatch", id, d.customer_id, state_json(before),
                          state_json(d), "ok");
  });
  if (!st.ok()) return st.error();
  if (replayed) return get_dispatch(store, p, id);
  return out;
}

Result<DispatchEvidence> add_evidence(Store& store, const Principal& p,
                                      const DispatchOptions& options, std::string_view id,
                                      DispatchEvidence f, const std::string& key,
                                      IdempotentAnswer* replay) {
  auto x = checked(store, p, id, "dispatch.evidence");
  if (!x.ok()) return x.error();
  if (auto s = may_visit(store, p, "dispatch.evidence", *x); !s.ok()) return s.error();
  if (f.data.empty()) return core::make_error_code(400, "the evidence file is empty");
  if (static_cast<int64_t>(f.data.size()) > options.max_evidence_bytes) {
    return core::make_error_code(413, "evidence '{}' has {} bytes: at most {} are taken",
                                 f.filename, f.data.size(), options.max_evidence_bytes);
  }
  if (f.filename.size() > 255 || f.filename.find_first_of("/\\\n\r") != std::string::npos) {
    return core::make_error_code(400,
                                 "file name must be at most 255 bytes without / \\ or line "
                                 "breaks");
  }
  if (f.filename.empty()) f.filename = "evidence";
  if (f.content_type.empty() || f.content_type.size() > 200) {
    f.content_type = "application/octet-stream";
  }
  const int64_t now = core::now().micros;
  f.id = random_id("evd");
  f.dispatch_id = std::string(id);
  f.customer_id = x->customer_id;
  f.size = static_cast<int64_t>(f.data.size());
  f.sha256 = core::sha256_hex(f.data);
  f.sniffed_type = sniff_file_type(f.data);
  f.actor = p.name;
  f.created_at = now;
  bool replayed = false;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto seen = claim_key(tx, p, key, id, replay);
    if (!seen.ok()) return seen.error();
    if (*seen) {
      replayed = true;
      return {};
    }
    auto cur = read_dispatch(tx, id);
    if (!cur.ok()) return cur.error();
    if (cur->state == "remote" || cur->state == "resolved" || cur->state == "signed_off") {
      return core::make_error_code(
          409, "dispatch is {}: evidence is taken during a visit (assigned to finished)",
          cur->state);
    }
    auto n = tx.q("SELECT COUNT(*) FROM dispatch_evidence WHERE dispatch_id = $1", {sp(id)});
    if (!n.ok()) return n.error();
    if (n->i64(0, 0) >= options.max_evidence_files) {
      return core::make_error_code(413, "dispatch '{}' has {} files of evidence: at most {}", id,
                                   n->i64(0, 0), options.max_evidence_files);
    }
    if (auto s = record_key(tx, p, key, id, now); !s.ok()) return s;
    auto r = tx.q(
        "INSERT INTO dispatch_evidence (id, dispatch_id, customer_id, filename, content_type, "
        "sniffed_type, size, sha256, actor, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11)",
        {sp(f.id), sp(id), sp(f.customer_id), sp(f.filename), sp(f.content_type),
         sp(f.sniffed_type), sp(f.size), sp(f.sha256), sp(f.actor), sp(core::base64(f.data)),
         sp(now)});
    if (!r.ok()) return r.error();
    if (auto s =
            add_step(tx, *cur, "evidence", p.name,
                     fmt::format("{} ({} bytes, SHA-256 {})", f.filename, f.size, f.sha256), now);
        !s.ok()) {
      return s;
    }
    std::string after = "{\"filename\":";
    core::append_json_string(after, f.filename);
    after += fmt::format(",\"size\":{},\"sha256\":\"{}\"}}", f.size, f.sha256);
    return store.audit_in(tx, p, "dispatch.evidence", "dispatch", id, f.customer_id, {}, after,
                          "ok");
  });
  if (!st.ok()) return st.error();
  f.data.clear();
  if (replayed) return DispatchEvidence{};
  return f;
}

Result<DispatchEvidence> get_evidence(Store& store, const Principal& p, std::string_view id,
                                      std::string_view file_id) {
  auto x = checked(store, p, id, "dispatch.read");
  if (!x.ok()) return x.error();
  DispatchEvidence f;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT filename, content_type, sniffed_type, size, sha256, actor, data, created_at FROM "
        "dispatch_evidence WHERE id = $1 AND dispatch_id = $2 AND customer_id = $3",
        {sp(file_id), sp(id), sp(x->customer_id)});
    if (!r.ok()) return r.error();
    if (r->empty()) {
      return core::make_error_code(404, "evidence '{}' of dispatch '{}' not found", file_id, id);
    }
    f.id = std::string(file_id);
    f.dispatch_id = std::string(id);
    f.customer_id = x->customer_id;
    f.filename = r->str(0, 0);
    f.content_type = r->str(0, 1);
    f.sniffed_type = r->str(0, 2);
    f.size = r->i64(0, 3);
    f.sha256 = r->str(0, 4);
    f.actor = r->str(0, 5);
    auto data = core::base64_decode(r->str(0, 6));
    if (!data) return core::make_error("evidence '{}': stored data is not base64", f.id);
    f.data = std::move(*data);
    f.created_at = r->i64(0, 7);
    return {};
  });
  if (!st.ok()) return st.error();
  return f;
}

void remember_answer(Store& store, const Principal& p, std::string_view key, int status,
                     std::string_view body) {
  if (key.empty()) return;
  (void)store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "UPDATE dispatch_requests SET status = $3, answer = $4 WHERE actor = $1 AND "
        "idempotency_key = $2 AND status = 0",
        {sp(actor_key(p)), sp(key), sp(int64_t{status}), sp(body)});
    if (!r.ok()) return r.error();
    return {};
  });
}

std::vector<DispatchStep> dispatch_timeline_for_incident(SqlTx& tx, std::string_view customer_id,
                                                         std::string_view incident_id,
                                                         Status* error) {
  std::vector<DispatchStep> out;
  auto r = tx.q(
      "SELECT s.at, s.state, s.actor, s.note, s.dispatch_id FROM dispatch_steps s JOIN "
      "dispatches d ON d.id = s.dispatch_id WHERE d.incident_id = $1 AND d.customer_id = $2 AND "
      "s.customer_id = $2 ORDER BY s.at, s.id",
      {sp(incident_id), sp(customer_id)});
  if (!r.ok()) {
    if (error) *error = r.error();
    return out;
  }
  for (size_t i = 0; i < r->size(); ++i) {
    out.push_back({r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->str(i, 3), r->str(i, 4)});
  }
  return out;
}

Result<int64_t> check_dispatch_arrivals(Store& store, int64_t now) {
  int64_t queued = 0;
  const Principal sys = Principal::system("dispatch");
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(std::string(kSelect) +
                      " WHERE d.state IN ('assigned', 'departed') AND d.promised_at > 0 AND "
                      "d.promised_at < $1 AND d.late_warned_at = 0 ORDER BY d.promised_at LIMIT "
                      "1000",
                  {sp(now)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      const Dispatch d = dispatch_from(*r, i);
      auto u =
          tx.q("UPDATE dispatches SET late_warned_at = $2 WHERE id = $1 AND late_warned_at = 0",
               {sp(d.id), sp(now)});
      if (!u.ok()) return u.error();
      if (u->affected != 1) continue;  // another instance told it
      auto name = tx.q("SELECT name FROM customers WHERE id = $1", {sp(d.customer_id)});
      if (!name.ok()) return name.error();
      const std::string customer = name->empty() ? d.customer_id : name->str(0, 0);
      const std::string due = core::format_local(core::Timestamp{d.promised_at});
      if (auto s = queue_provider_notice(
              tx, d.customer_id, fmt::format("dispatch:{}:late", d.id), "high",
              fmt::format("[駆け付け] 到着予定時刻超過: {}", customer),
              fmt::format("駆け付け {} ({}) の到着予定時刻 {} を過ぎましたが、到着の記録がありま"
                          "せん。\n状態: {}\n担当: {}\n場所: {} {}\n概要: {}",
                          d.id, customer, due, d.state,
                          d.technician_email.empty() ? "(未割当)" : d.technician_email,
                          d.prefecture, d.address, d.summary),
              now);
          !s.ok()) {
        return s;
      }
      if (auto s = add_step(tx, d, "late", sys.name, fmt::format("到着予定 {} を超過", due), now);
          !s.ok()) {
        return s;
      }
      if (auto s = store.audit_in(tx, sys, "dispatch.late", "dispatch", d.id, d.customer_id, {},
                                  state_json(d), "ok");
          !s.ok()) {
        return s;
      }
      ++queued;
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return queued;
}

}  // namespace mimamori::server
