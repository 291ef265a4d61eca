#pragma once
// Triage: what turns stored alert events into aggregated alert rows and incidents, as functions
// over a transaction (so that they run inside the ingest commit and are testable on a
// temporary SQLite store), and the reading and handling of alerts, incidents and suppression
// rules. The folder-level header of triage/: other folders include this one.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/ingest.h"
#include "mimamori/server/store.h"
#include "store/sql.h"
#include "triage/catalogue.h"

namespace mimamori::server {

// --- alerts, incidents, suppression rules (tenant-scoped through Store::allow) ------------
/// Aggregated alerts visible to `p`, newest first, filtered by `q`.
Result<std::vector<AlertRow>> list_alerts(Store& store, const Principal& p, const AlertQuery& q);
/// One aggregated alert.
Result<AlertRow> get_alert(Store& store, const Principal& p, std::string_view id);
/// Raw EVE lines behind an aggregated alert.
Result<std::vector<std::string>> alert_events(Store& store, const Principal& p, std::string_view id,
                                              int64_t limit);
/// Incidents visible to `p`, most severe and most recent first.
Result<std::vector<Incident>> list_incidents(Store& store, const Principal& p,
                                             const IncidentQuery& q);
/// One customer's line of the SOC overview.
struct CustomerOverview {
  std::string customer_id, name;
  int64_t open = 0;       ///< incidents not closed
  int64_t open_high = 0;  ///< of them, high or critical
  int64_t devices = 0;    ///< active devices
  int64_t silent = 0;     ///< of them, monitoring stopped (監視停止)
};
/// Every customer's line of the SOC overview, by name; provider roles only (403 otherwise).
Result<std::vector<CustomerOverview>> overview_summary(Store& store, const Principal& p);
/// One incident.
Result<Incident> get_incident(Store& store, const Principal& p, std::string_view id);
/// The timeline of an incident, oldest first.
Result<std::vector<TimelineEntry>> incident_timeline(Store& store, const Principal& p,
                                                     std::string_view id);
/// The aggregated alerts linked to an incident.
Result<std::vector<AlertRow>> incident_alerts(Store& store, const Principal& p,
                                              std::string_view id);
/// Acknowledges, assigns, comments, changes the status of, closes or reopens an incident, or
/// records a customer's confirmation (seen / done) on its timeline; audited, with a timeline
/// entry. Only provider roles change the SOC status (customer roles get 403 for anything but
/// comment and confirm; provider roles get 403 for confirm).
Result<Incident> change_incident(Store& store, const Principal& p, std::string_view id,
                                 const IncidentChange& change);
/// Creates a suppression rule (provider_admin or analyst); audited.
Result<SuppressionRule> create_suppression(Store& store, const Principal& p, SuppressionRule rule);
/// Suppression rules visible to `p` (of one customer when given).
Result<std::vector<SuppressionRule>> list_suppressions(Store& store, const Principal& p,
                                                       std::string_view customer_id);
/// Deletes a suppression rule (provider_admin or analyst); audited.
Status delete_suppression(Store& store, const Principal& p, std::string_view id);

// --- triage of ingested events ---------------------------------------------------------
/// Triage of a commit group's new alert events and the devices' acknowledgements, set-based:
/// the same rows as triaging event after event, in a handful of statement pipelines.
/// `inserted` holds one flag per row of the group (batch after batch, events before rejected
/// lines): only new events are triaged. Windows come from `options`.
Status triage_group(SqlTx& tx, std::span<const IngestBatch* const> group,
                    const std::vector<bool>& inserted, int64_t now, const StoreOptions& options);

/// Opens 監視停止 incidents for devices silent past their limit; returns how many.
Result<int64_t> check_heartbeats(Store& store, int64_t now);

}  // namespace mimamori::server
