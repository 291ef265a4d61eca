#pragma once
// The subcommands of `mimamori`; each file registers one group on the CLI11 app.

#include <CLI/CLI.hpp>

namespace mimamori::cli {

/// `mimamori eve check FILE...`: validates EVE JSON files and counts event types.
void add_eve_commands(CLI::App& app);

/// `mimamori admin init|customer add|enroll-code|user add|threat|rotate-key`: server set-up
/// without a browser.
void add_admin_commands(CLI::App& app);
/// `mimamori hunt PATH... --rules DIR`: Sigma detections over Windows event logs.
void add_hunt_command(CLI::App& app);

/// `mimamori plan check FILE` and `mimamori subsidy --year …`: price rules and the subsidy.
void add_business_commands(CLI::App& app);

/// `mimamori stats ipa --from --to`: alert statistics for IPA from the server's store.
void add_stats_commands(CLI::App& app);

/// `mimamori admin import-eve`: EVE files into a running server through the device API.
void add_admin_import_command(CLI::App& admin);

/// `mimamori admin backup|restore`: a consistent copy of the store and its restoration.
void add_admin_backup_commands(CLI::App& admin);

/// `mimamori admin self-check [--json] [--evidence pack.zip]`: the registration requirements.
void add_admin_selfcheck_command(CLI::App& admin);
/// `mimamori admin catalogue [--json]`: the registered plans and IPA's registered services.
void add_admin_catalogue_command(CLI::App& admin);
/// `mimamori admin events dump [--customer ID] [--device ID] [--since T] [--until T] [--keys]`.
void add_admin_events_commands(CLI::App& admin);
/// `mimamori admin report-mail --month YYYY-MM [--customer ID] [--dry-run]`.
void add_admin_report_mail_command(CLI::App& admin);

}  // namespace mimamori::cli
