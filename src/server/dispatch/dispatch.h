#pragma once
// 駆け付け (on-site dispatch): from an incident or a desk ticket, remote support first, then an
// on-site visit by a technician chosen by skills, prefecture and availability, with a promised
// arrival time from the customer's contract; the visit's states (assigned → departed → arrived →
// working → finished → signed_off) each timestamped with the actor, the actions taken, evidence
// files with SHA-256, the customer's sign-off, and a warning when the promised arrival passes.
// Functions over the store, tenant-scoped through Store::allow and audited (`dispatch.<state>`).
// The folder-level header of dispatch/.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/server.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// The states of a dispatch, in their order. `remote`: remote support under way (or done and
/// an on-site visit not yet requested); `resolved`: settled remotely, no visit.
inline constexpr std::string_view kDispatchStates[] = {
    "remote", "resolved", "assigned", "departed", "arrived", "working", "finished", "signed_off"};

/// A technician's profile: the provider user (role technician or analyst), the skills, the
/// prefectures served and the weekly availability windows in JST ("mon-fri 09:00-18:00").
struct Technician {
  std::string user_id, email, role;
  std::vector<std::string> skills, prefectures, availability;
  int64_t active = 0;  ///< dispatches assigned to them and not yet finished
  int64_t updated_at = 0;
};

/// One file of a dispatch's evidence (`data` only when read for download or being stored).
struct DispatchEvidence {
  std::string id, dispatch_id, customer_id, filename, content_type, sniffed_type, sha256, actor,
      data;
  int64_t size = 0, created_at = 0;
};

/// One entry of a dispatch's history: a state reached (with its actor and note), remote support
/// recorded (state `remote`), an action line (state `action`).
struct DispatchStep {
  int64_t at = 0;
  std::string state, actor, note, dispatch_id;
};

/// A dispatch.
struct Dispatch {
  std::string id, customer_id, incident_id, ticket_id, kind, state, summary;
  std::string remote_done, remote_outcome;  ///< what was done remotely; resolved, unresolved
  std::string prefecture, address, technician_id, technician_email;
  std::vector<std::string> skills;  ///< needed on site
  int64_t requested_at = 0;         ///< on-site requested
  int64_t promised_at = 0;          ///< promised arrival
  int64_t onsite_hours = 0;         ///< the promise in wall-clock hours after the request
  std::string promise_source;       ///< "plan:<id>" (the contract's plan) or "config" (the default)
  std::string signoff_name;
  int64_t signoff_at = 0, late_warned_at = 0;
  std::string created_by;
  int64_t created_at = 0, updated_at = 0;
  std::vector<DispatchStep> steps;  ///< with get_dispatch only, oldest first
  std::vector<DispatchEvidence> evidence;
};

/// A new dispatch: of an incident or a desk ticket of `customer_id` (its customer when empty).
struct NewDispatch {
  std::string customer_id, incident_id, ticket_id, kind = "remote", summary;
  /// kind onsite: where, what skills, and optionally the technician (else chosen).
  std::string prefecture, address, technician_id;
  std::vector<std::string> skills;
  std::string idempotency_key;
};

/// A change: remote (text, outcome), onsite (prefecture, address, skills, technician_id),
/// depart, arrive, work, finish (text: a note), action (text), signoff (name).
struct DispatchChange {
  std::string action, text, outcome, name;
  std::string prefecture, address, technician_id;
  std::vector<std::string> skills;
  std::string idempotency_key;
};

/// Filters of a listing. technician_id "me": the acting user's.
struct DispatchQuery {
  std::string customer_id, incident_id, ticket_id, technician_id, state;
  int64_t limit = 100, offset = 0;
};

/// What an idempotent request answered the first time (`found` false: not seen yet).
struct IdempotentAnswer {
  bool found = false;
  int status = 0;
  std::string body;
};

// --- technicians ------------------------------------------------------------------------

/// Technician profiles (provider roles), by e-mail.
Result<std::vector<Technician>> list_technicians(Store& store, const Principal& p);
/// Saves the profile of a provider user of role technician or analyst (provider_admin,
/// analyst); every window and prefecture checked, the error names the bad one; audited.
Result<Technician> save_technician(Store& store, const Principal& p, Technician t);
/// True when `at` (micros) lies in one of `windows` (JST weekly windows).
bool technician_available(const std::vector<std::string>& windows, int64_t at);
/// Checks one availability window: `<days> HH:MM-HH:MM`, days `mon`..`sun`, a range `mon-fri`,
/// a list `sat,sun` or `all`; end after start (24:00 allowed).
core::Status check_window(std::string_view window);
/// The 47 prefectures (東京都, 大阪府 …), as stored.
bool is_prefecture(std::string_view name);
/// The technician for a visit: serves `prefecture`, has every skill in `skills`, is available
/// at `at`; of those, the one with the fewest active dispatches (then by e-mail). 409 naming
/// what is missing when nobody fits.
Result<Technician> choose_technician(SqlTx& tx, std::string_view prefecture,
                                     const std::vector<std::string>& skills, int64_t at);

// --- dispatches -------------------------------------------------------------------------

/// Opens a dispatch (provider_admin, analyst, desk): remote first, or on site at once (then a
/// technician is chosen and the arrival promised as for `onsite`). Audited (`dispatch.remote`
/// or `dispatch.assigned`).
Result<Dispatch> open_dispatch(Store& store, const Principal& p, const DispatchOptions& options,
                               NewDispatch d, IdempotentAnswer* replay = nullptr);
/// Dispatches visible to `p`, newest first.
Result<std::vector<Dispatch>> list_dispatches(Store& store, const Principal& p,
                                              const DispatchQuery& q);
/// One dispatch with its steps and evidence list.
Result<Dispatch> get_dispatch(Store& store, const Principal& p, std::string_view id);
/// Changes a dispatch (see DispatchChange): an impossible transition is 409 saying the state it
/// is in and what the action needs; who may do what: the desk and the SOC record remote support
/// and request the visit; the assigned technician (or a provider_admin or analyst on their
/// behalf) records departure, arrival, work, finish and actions; the customer (or the
/// technician on the customer's device) signs off. With an idempotency key already used by the
/// same user, nothing changes and `replay` holds the first answer.
Result<Dispatch> change_dispatch(Store& store, const Principal& p, const DispatchOptions& options,
                                 std::string_view id, const DispatchChange& c,
                                 IdempotentAnswer* replay = nullptr);
/// Stores a file of evidence (the assigned technician, provider_admin, analyst): size and count
/// limits of `options`, type sniffed, SHA-256; audited (`dispatch.evidence`).
Result<DispatchEvidence> add_evidence(Store& store, const Principal& p,
                                      const DispatchOptions& options, std::string_view id,
                                      DispatchEvidence f, const std::string& idempotency_key,
                                      IdempotentAnswer* replay = nullptr);
/// One file of evidence with its data.
Result<DispatchEvidence> get_evidence(Store& store, const Principal& p, std::string_view id,
                                      std::string_view file_id);
/// Records the answer given to the first request with `key` by `p` (after its commit).
void remember_answer(Store& store, const Principal& p, std::string_view key, int status,
                     std::string_view body);
/// Checks an idempotency key: 1..200 printable ASCII characters.
core::Status check_idempotency_key(std::string_view key);

/// The steps of every dispatch of an incident, oldest first (for the insurance claim package:
/// timeline entries at, state, actor, note). A failed query leaves `error` set (when given) and
/// returns what was read.
std::vector<DispatchStep> dispatch_timeline_for_incident(SqlTx& tx, std::string_view customer_id,
                                                         std::string_view incident_id,
                                                         Status* error = nullptr);

/// Queues one warning per dispatch whose promised arrival has passed without `arrived` to the
/// provider's channels; returns how many were queued.
Result<int64_t> check_dispatch_arrivals(Store& store, int64_t now);

/// Checks the dispatch keys of the configuration; the error names the key.
core::Status check_dispatch_options(const DispatchOptions& options);

}  // namespace mimamori::server
